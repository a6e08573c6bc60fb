package telemetry

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/cache"
)

const (
	tagsRoute   = "/api/v1/repos/{registry}/{repository}/tags"
	digestRoute = "/api/v1/repos/{registry}/{repository}/-/digest/{reference}"
)

// nameRoute names the logical route of a request behind a wildcard the way
// internal/handlers does: it replaces the wildcard in chi's routing context.
func nameRoute(r *http.Request, pattern string) {
	rctx := chi.RouteContext(r.Context())
	rctx.RoutePatterns[len(rctx.RoutePatterns)-1] = pattern
}

// newRouter is a small chi router shaped like regapi's: a wildcard route
// whose handler names its logical route, a mounted subrouter, a panicking
// route, and the telemetry middleware installed with Use.
func newRouter(m *Metrics) http.Handler {
	r := chi.NewRouter()
	r.Use(AssignRequestID, recoverer, m.Middleware)
	// GET /healthz
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	// GET /api/v1/repos/*: the logical route depends on the path's tail.
	r.Get("/api/v1/repos/*", func(w http.ResponseWriter, r *http.Request) {
		rest := chi.URLParam(r, "*")
		switch {
		case strings.HasSuffix(rest, "/tags"):
			nameRoute(r, tagsRoute)
			status := cache.StatusMiss
			if strings.Contains(rest, "hit") {
				status = cache.StatusHit
			}
			cache.Observe(r.Context(), status, 0)
			if strings.Contains(rest, "stale") {
				cache.Observe(r.Context(), cache.StatusStale, 90*time.Second)
			}
			if strings.Contains(rest, "missing") {
				http.Error(w, "not found", http.StatusNotFound)
				return
			}
			_, _ = w.Write([]byte(`{"tags":["latest"]}`))
		case strings.Contains(rest, "/-/digest/"):
			nameRoute(r, digestRoute)
			_, _ = w.Write([]byte("sha256:abc"))
		case strings.HasSuffix(rest, "/boom"):
			http.Error(w, "upstream broke", http.StatusBadGateway)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	// GET /panic
	r.Get("/panic", func(http.ResponseWriter, *http.Request) {
		panic("handler bug")
	})
	// GET /abort: a stream that fails midway, as extract does.
	r.Get("/abort", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	sub := chi.NewRouter()
	// GET /api/v2/things/{id}
	sub.Get("/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(chi.URLParam(r, "id")))
	})
	r.Mount("/api/v2", sub)
	return r
}

// recoverer turns a panic into a 500, quietly, as chi's Recoverer does.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler { //nolint:errorlint // a panic value, compared as net/http compares it
					panic(p)
				}
				w.WriteHeader(http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func TestMiddlewareMetricsAfterTraffic(t *testing.T) {
	m, reg, _ := newTestMetrics(t)
	srv := serve(t, newRouter(m))
	c := srv.Client()

	reqs := []struct {
		method, path string
		want         int
	}{
		{"GET", "/healthz", 200},
		{"GET", "/healthz", 200},
		{"GET", "/api/v1/repos/hub/library/nginx/tags", 200},
		{"GET", "/api/v1/repos/hub/library/missing/tags", 404},
		{"GET", "/api/v1/repos/hub/library/nginx/manifests/latest", 204},
		{"GET", "/api/v1/repos/hub/x/boom", 502},
		{"GET", "/api/v1/repos/hub/library/nginx/-/digest/latest", 200},
		{"GET", "/api/v2/things/42", 200},
		{"GET", "/panic", 500},
		{"GET", "/no/such/route", 404},
		{"POST", "/healthz", 405},
		{"BREW", "/healthz", 405},
		{"HEAD", "/healthz", 405},
	}
	for _, rq := range reqs {
		resp, _ := do(t, c, rq.method, srv.URL+rq.path)
		if resp.StatusCode != rq.want {
			t.Fatalf("%s %s = %d, want %d", rq.method, rq.path, resp.StatusCode, rq.want)
		}
	}

	wantCounts := map[string]float64{
		"code=200,method=GET,route=/healthz":            2,
		"code=405,method=HEAD,route=" + RouteUnmatched:  1,
		"code=200,method=GET,route=" + tagsRoute:        1,
		"code=404,method=GET,route=" + tagsRoute:        1,
		"code=204,method=GET,route=/api/v1/repos/*":     1,
		"code=502,method=GET,route=/api/v1/repos/*":     1,
		"code=200,method=GET,route=/api/v2/things/{id}": 1,
		"code=200,method=GET,route=" + digestRoute:      1,
		"code=500,method=GET,route=/panic":              1,
		"code=404,method=GET,route=" + RouteUnmatched:   1,
		"code=405,method=POST,route=" + RouteUnmatched:  1,
		"code=405,method=OTHER,route=" + RouteUnmatched: 1,
	}
	if diff := cmp.Diff(wantCounts, series(t, reg, "regapi_http_requests_total")); diff != "" {
		t.Errorf("regapi_http_requests_total (-want +got):\n%s", diff)
	}
	wantDurations := map[string]float64{
		"method=GET,route=/healthz":            2,
		"method=HEAD,route=" + RouteUnmatched:  1,
		"method=GET,route=" + tagsRoute:        2,
		"method=GET,route=/api/v1/repos/*":     2,
		"method=GET,route=/api/v2/things/{id}": 1,
		"method=GET,route=" + digestRoute:      1,
		"method=GET,route=/panic":              1,
		"method=GET,route=" + RouteUnmatched:   1,
		"method=POST,route=" + RouteUnmatched:  1,
		"method=OTHER,route=" + RouteUnmatched: 1,
	}
	if diff := cmp.Diff(wantDurations, series(t, reg, "regapi_http_request_duration_seconds")); diff != "" {
		t.Errorf("regapi_http_request_duration_seconds sample counts (-want +got):\n%s", diff)
	}
	if got := series(t, reg, "regapi_http_requests_in_flight")[""]; got != 0 {
		t.Errorf("regapi_http_requests_in_flight = %v after all requests, want 0", got)
	}
}

func TestMiddlewareAccessLog(t *testing.T) {
	m, _, logs := newTestMetrics(t)
	srv := serve(t, newRouter(m))

	tests := []struct {
		path string
		want map[string]any
	}{{
		path: "/api/v1/repos/hub/library/nginx-hit/tags",
		want: map[string]any{"method": "GET", "route": tagsRoute, "path": "/api/v1/repos/hub/library/nginx-hit/tags",
			"status": 200.0, "bytes": float64(len(`{"tags":["latest"]}`)), "cache": "HIT"},
	}, {
		path: "/api/v1/repos/hub/library/stale/tags",
		want: map[string]any{"method": "GET", "route": tagsRoute, "path": "/api/v1/repos/hub/library/stale/tags",
			"status": 200.0, "bytes": float64(len(`{"tags":["latest"]}`)), "cache": "STALE", "cache_age_s": 90.0},
	}, {
		path: "/no/such/route",
		want: map[string]any{"method": "GET", "route": RouteUnmatched, "path": "/no/such/route",
			"status": 404.0, "bytes": float64(len("404 page not found\n")), "cache": ""},
	}}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, _ := get(t, srv.Client(), srv.URL+tt.path, HeaderRequestID, "given-id-1")
			if got := resp.Header.Get(HeaderRequestID); got != "given-id-1" {
				t.Errorf("response %s = %q, want %q", HeaderRequestID, got, "given-id-1")
			}
			line := logs.nextMsg(t, "request")
			if line["level"] != "INFO" {
				t.Errorf("level = %v, want INFO", line["level"])
			}
			if line["request_id"] != "given-id-1" {
				t.Errorf("request_id = %v, want given-id-1", line["request_id"])
			}
			// No trusted proxies: the client is the peer.
			if line["client"] != "127.0.0.1" {
				t.Errorf("client = %v, want 127.0.0.1", line["client"])
			}
			d, ok := line["duration_us"].(float64)
			if !ok || d < 0 || d != float64(int64(d)) {
				t.Errorf("duration_us = %v, want a non-negative whole number", line["duration_us"])
			}
			if _, ok := line["time"].(string); !ok {
				t.Errorf("time = %v, want a string", line["time"])
			}
			for k, want := range tt.want {
				if got := line[k]; got != want {
					t.Errorf("log field %s = %v (%T), want %v", k, got, got, want)
				}
			}
			if _, ok := line["aborted"]; ok {
				t.Errorf("aborted present in %v, want absent", line)
			}
		})
	}
}

// Behind auth.ClientAddresses the line's client is the address a trusted
// proxy's X-Forwarded-For names; a peer that is not trusted is logged as
// itself, whatever it sends.
func TestMiddlewareAccessLogClientBehindProxy(t *testing.T) {
	for _, tc := range []struct {
		name, trusted, xff, want string
	}{
		{"trusted proxy", "127.0.0.0/8", "198.51.100.1, 203.0.113.9", "203.0.113.9"},
		{"trusted proxy, IPv6 client", "127.0.0.1", "2001:db8::7", "2001:db8::7"},
		{"untrusted peer spoofing", "::1", "203.0.113.9", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trusted, err := auth.ParseTrustedProxies([]string{tc.trusted})
			if err != nil {
				t.Fatal(err)
			}
			m, _, logs := newTestMetrics(t)
			srv := serve(t, auth.ClientAddresses(trusted)(newRouter(m)))
			get(t, srv.Client(), srv.URL+"/healthz", "X-Forwarded-For", tc.xff)
			if line := logs.nextMsg(t, "request"); line["client"] != tc.want {
				t.Errorf("client = %v, want %s", line["client"], tc.want)
			}
		})
	}
}

// A request ID occurs once in a line, even though the logger also adds it
// from the context.
func TestMiddlewareAccessLogRequestIDOnce(t *testing.T) {
	m, _, logs := newTestMetrics(t)
	srv := serve(t, newRouter(m))
	get(t, srv.Client(), srv.URL+"/healthz", HeaderRequestID, "only-once")
	select {
	case line := <-logs.lines:
		if n := strings.Count(line, "only-once"); n != 1 {
			t.Errorf("request ID occurs %d times in %s, want 1", n, line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no log line within 10s")
	}
}

func TestMiddlewareNilMetrics(t *testing.T) {
	var m *Metrics
	srv := serve(t, newRouter(m))
	resp, body := get(t, srv.Client(), srv.URL+"/healthz")
	if resp.StatusCode != 200 || body != "ok" {
		t.Errorf("GET /healthz with nil metrics = %d %q, want 200 \"ok\"", resp.StatusCode, body)
	}
}

// Wrapped around the router instead of Used inside it, the middleware still
// labels by chi's route pattern.
func TestMiddlewareAroundRouter(t *testing.T) {
	m, reg, _ := newTestMetrics(t)
	inner := chi.NewRouter()
	// GET /api/v1/registries
	inner.Get("/api/v1/registries", func(w http.ResponseWriter, r *http.Request) {})
	srv := serve(t, AssignRequestID(m.Middleware(inner)))
	get(t, srv.Client(), srv.URL+"/api/v1/registries")
	get(t, srv.Client(), srv.URL+"/nowhere")
	want := map[string]float64{
		"code=200,method=GET,route=/api/v1/registries": 1,
		"code=404,method=GET,route=" + RouteUnmatched:  1,
	}
	if diff := cmp.Diff(want, series(t, reg, "regapi_http_requests_total")); diff != "" {
		t.Errorf("regapi_http_requests_total (-want +got):\n%s", diff)
	}
}

// A response aborted midway keeps the status the client saw and is logged
// as aborted.
func TestMiddlewareAbortedStream(t *testing.T) {
	m, reg, logs := newTestMetrics(t)
	srv := serve(t, newRouter(m))
	resp, err := srv.Client().Get(srv.URL + "/abort")
	if err != nil {
		t.Fatalf("GET /abort: %v", err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Error("reading an aborted body succeeded, want an error")
	}
	line := logs.nextMsg(t, "request")
	if line["status"] != 200.0 || line["aborted"] != true || line["bytes"] != float64(len("partial")) {
		t.Errorf("log status, aborted, bytes = %v, %v, %v; want 200, true, %d", line["status"], line["aborted"], line["bytes"], len("partial"))
	}
	want := map[string]float64{"code=200,method=GET,route=/abort": 1}
	if diff := cmp.Diff(want, series(t, reg, "regapi_http_requests_total")); diff != "" {
		t.Errorf("regapi_http_requests_total (-want +got):\n%s", diff)
	}
}
