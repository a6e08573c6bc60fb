package handlers

import (
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestCacheOverHTTP shows MISS, HIT, 304, STALE (with the real distribution
// registry stopped mid-test) and the purge endpoint.
func TestCacheOverHTTP(t *testing.T) {
	dist := registrytest.StartDistribution(t, nil)
	img := registrytest.PushRandomImage(t, dist.Host, "library/alpine", "latest")
	digest := must(img.Digest()).String()

	clock := &fakeClock{}
	clock.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	c, err := cache.New(cache.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	a := newAPI(t, Config{
		Upstreams: []Upstream{{Name: "dist", Host: dist.Host, Client: c.Wrap("dist", clientFor(dist.Host, nil))}},
		Cache:     c,
	})
	tags := "/api/v1/repos/dist/library/alpine/-/tags"
	manifest := "/api/v1/repos/dist/library/alpine/-/manifests/latest"

	xcache := func(path string, header http.Header, wantStatus int, want string) response {
		t.Helper()
		res := a.do(t, http.MethodGet, path, header)
		if res.Status != wantStatus || res.Header.Get("X-Cache") != want {
			t.Fatalf("GET %s = %d X-Cache %q, want %d %q; body %s", path, res.Status, res.Header.Get("X-Cache"), wantStatus, want, res.Body)
		}
		return res
	}
	xcache(tags, nil, 200, "MISS")
	first := xcache(tags, nil, 200, "HIT")
	xcache(manifest, nil, 200, "MISS")
	xcache(manifest, nil, 200, "HIT")

	before := len(dist.Requests())
	xcache(tags, http.Header{"If-None-Match": {first.Header.Get("ETag")}}, 304, "HIT")
	xcache(manifest, http.Header{"If-None-Match": {`"` + digest + `"`}}, 304, "HIT")
	if n := len(dist.Requests()) - before; n != 0 {
		t.Errorf("304s from the cache made %d upstream requests, want 0", n)
	}

	// Past the TTL with the upstream gone: the expired copy, marked stale.
	dist.Server.Close()
	clock.advance(2 * time.Minute)
	for _, path := range []string{tags, manifest} {
		res := xcache(path, nil, 200, "STALE")
		age, err := strconv.Atoi(res.Header.Get("Age"))
		if err != nil || age < 60 {
			t.Errorf("GET %s stale Age = %q, want at least 60 s", path, res.Header.Get("Age"))
		}
	}

	// Purging the registry drops the copies; the outage shows.
	var purged purgeResponse
	a.do(t, http.MethodDelete, "/api/v1/cache?prefix=dist/library", nil).json(t, &purged)
	if purged.Purged < 2 {
		t.Errorf("purge dist/library = %d entries, want at least 2", purged.Purged)
	}
	a.get(t, tags).problem(t, http.StatusBadGateway, "UPSTREAM_UNAVAILABLE")

	a.do(t, http.MethodDelete, "/api/v1/cache?prefix=nope", nil).problem(t, http.StatusNotFound, "REGISTRY_UNKNOWN")
	a.do(t, http.MethodDelete, "/api/v1/cache?prefix=dist/UP", nil).problem(t, http.StatusBadRequest, "NAME_INVALID")
	a.do(t, http.MethodDelete, "/api/v1/cache", nil).json(t, &purged)
}

// TestPurgePrefixes checks what DELETE /api/v1/cache hands the Purger.
func TestPurgePrefixes(t *testing.T) {
	p := &purgeCount{}
	a := newAPI(t, Config{Upstreams: []Upstream{{Name: "hub", Host: "h", Client: clientFor("127.0.0.1:1", nil)}}, Cache: p})
	for _, q := range []string{"", "?prefix=", "?prefix=hub", "?prefix=hub/library/alpine"} {
		var got purgeResponse
		a.do(t, http.MethodDelete, "/api/v1/cache"+q, nil).json(t, &got)
		if got.Purged != 3 {
			t.Errorf("DELETE /api/v1/cache%s = %d, want the Purger's 3", q, got.Purged)
		}
	}
	want := []string{"", "", "hub", "hub/library/alpine"}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Equal(p.prefixes, want) {
		t.Errorf("Purge prefixes = %q, want %q", p.prefixes, want)
	}
}

// TestRoutePatternForMetrics checks what a metrics middleware sees after
// the handler ran: the logical route, never a raw path.
func TestRoutePatternForMetrics(t *testing.T) {
	// The client can have its answer before the middleware's epilogue ran,
	// so patterns arrive on a channel.
	seen := make(chan string, 16)
	record := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			seen <- chi.RouteContext(r.Context()).RoutePattern()
		})
	}
	dist := registrytest.NewDistribution(t, nil)
	registrytest.PushRandomImage(t, dist, "org/team/app", "v1")
	a := newAPI(t, Config{
		Upstreams:  []Upstream{{Name: "dist", Host: dist, Client: clientFor(dist, nil)}},
		Middleware: []func(http.Handler) http.Handler{record},
	})
	tests := []struct{ path, want string }{
		{"/api/v1/repos/dist/org/team/app/-/tags", "/api/v1/repos/{registry}/{repository}/-/tags"},
		{"/api/v1/repos/dist/-/repositories", "/api/v1/repos/{registry}/-/repositories"},
		{"/api/v1/repos/dist/org/-/repositories", "/api/v1/repos/{registry}/{repository}/-/repositories"},
		{"/api/v1/repos/dist/org/team/app/-/manifests/v1", "/api/v1/repos/{registry}/{repository}/-/manifests/{reference}"},
		{"/api/v1/repos/dist/org/team/app/-/digest/v1", "/api/v1/repos/{registry}/{repository}/-/digest/{reference}"},
		{"/api/v1/repos/dist/org/team/app/-/config/v1", "/api/v1/repos/{registry}/{repository}/-/config/{reference}"},
		{"/api/v1/repos/dist/org/team/app/-/extract/v1", "/api/v1/repos/{registry}/{repository}/-/extract/{reference}"},
		{"/api/v1/repos/other/x/-/tags", "/api/v1/repos/{registry}/{repository}/-/tags"},
		{"/api/v1/repos/dist/BAD/-/tags", "/api/v1/repos/*"},
		{"/api/v1/registries", "/api/v1/registries"},
		{"/healthz", "/healthz"},
	}
	for _, tt := range tests {
		a.get(t, tt.path)
		select {
		case got := <-seen:
			if got != tt.want {
				t.Errorf("GET %s: route pattern = %q, want %q", tt.path, got, tt.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("GET %s: the middleware never saw the request", tt.path)
		}
	}
}
