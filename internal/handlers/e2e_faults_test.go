package handlers

import (
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// stubRegistry serves h for every request (the /v2/ ping included unless
// ping is set) and counts them. It is for faults a real registry cannot be
// made to show.
func stubRegistry(t *testing.T, ping bool, h http.HandlerFunc) (string, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if ping && r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), &hits
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestErrorCodes reaches every code of the catalog over real HTTP, except
// UNAUTHORIZED and DENIED, which belong to caller authentication (see
// TestClassify for their mapping).
func TestErrorCodes(t *testing.T) {
	dist := registrytest.StartDistribution(t, nil)
	registrytest.PushRandomImage(t, dist.Host, "library/alpine", "latest")
	registrytest.PushRandomIndex(t, dist.Host, "multi/app", "v1")
	gg := registrytest.StartGGCR(t, false)
	registrytest.Push(t, gg.Host+"/nested/index:v1", nestedIndex(t))
	locked := registrytest.StartDistribution(t, &registrytest.DistributionOptions{Users: map[string]string{"robot": "right"}})

	limited, limitedHits := stubRegistry(t, true, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`)
	})
	broken, _ := stubRegistry(t, true, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	release := make(chan struct{})
	slow, _ := stubRegistry(t, false, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the stub's Close
	nocatalog, _ := stubRegistry(t, true, func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	})

	ups := []Upstream{
		{Name: "dist", Host: dist.Host, Client: clientFor(dist.Host, nil)},
		{Name: "ggcr", Host: gg.Host, Client: clientFor(gg.Host, nil)},
		{Name: "locked", Host: locked.Host, Client: clientFor(locked.Host, &registry.Options{Auth: &authn.Basic{Username: "robot", Password: "wrong"}})},
		{Name: "anon", Host: locked.Host, Client: clientFor(locked.Host, nil)},
		{Name: "limited", Host: limited, Client: clientFor(limited, nil)},
		{Name: "broken", Host: broken, Client: clientFor(broken, nil)},
		{Name: "slow", Host: slow, Client: clientFor(slow, &registry.Options{ResponseHeaderTimeout: 200 * time.Millisecond})},
		{Name: "slowop", Host: slow, Client: clientFor(slow, &registry.Options{Timeout: 200 * time.Millisecond})},
		{Name: "down", Host: "127.0.0.1:1", Client: clientFor(closedPort(t), nil)},
		{Name: "nocatalog", Host: nocatalog, Client: clientFor(nocatalog, nil)},
	}
	a := newAPI(t, Config{Upstreams: ups})
	digest := "sha256:" + strings.Repeat("ab", 32)

	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/v1/repos/dist/Library/alpine/-/tags", 400, "NAME_INVALID"},
		{"GET", "/api/v1/repos/dist/-/tags", 400, "NAME_INVALID"},
		{"GET", "/api/v1/repos/d!st/x/-/tags", 400, "NAME_INVALID"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/manifests/.latest", 400, "REFERENCE_INVALID"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/manifests/sha256:abc", 400, "DIGEST_INVALID"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/manifests/@" + strings.ToUpper(digest), 400, "DIGEST_INVALID"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/digest/latest?platform=linux", 400, "PLATFORM_INVALID"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/tags?limit=0", 400, "PAGINATION_INVALID"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/tags?limit=x", 400, "PAGINATION_INVALID"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/tags?last=-x", 400, "PAGINATION_INVALID"},
		{"GET", "/api/v1/repos/dist/-/repositories?last=UPPER", 400, "PAGINATION_INVALID"},
		{"GET", "/api/v1/repos/dist/-/repositories?delimiter=:", 400, "PAGINATION_INVALID"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/manifests/latest?raw=maybe", 400, "PARAMETER_INVALID"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/files/latest/etc/%2e%2e/x", 400, "PATH_INVALID"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/extract/latest?path=/a%00", 400, "PATH_INVALID"},
		{"GET", "/api/v1/repos/nope/library/alpine/-/tags", 404, "REGISTRY_UNKNOWN"},
		{"GET", "/api/v1/repos/dist/no/such/-/tags", 404, "NAME_UNKNOWN"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/manifests/nope", 404, "MANIFEST_UNKNOWN"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/manifests/" + digest, 404, "MANIFEST_UNKNOWN"},
		{"GET", "/api/v1/repos/dist/multi/app/-/config/v1?platform=plan9/mips", 404, "PLATFORM_UNKNOWN"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/files/latest/no/such/file", 404, "FILE_UNKNOWN"},
		{"GET", "/api/v1/repos/dist/library/alpine/-/nope", 404, "NOT_FOUND"},
		{"GET", "/api/v1/repos/dist/library/alpine", 404, "NOT_FOUND"},
		{"GET", "/nope", 404, "NOT_FOUND"},
		{"POST", "/healthz", 405, "METHOD_NOT_ALLOWED"},
		{"POST", "/api/v1/repos/dist/library/alpine/-/tags", 405, "METHOD_NOT_ALLOWED"},
		{"DELETE", "/api/v1/cache", 404, "NOT_FOUND"}, // no cache configured
		{"GET", "/api/v1/repos/limited/library/alpine/-/tags", 429, "TOOMANYREQUESTS"},
		{"GET", "/api/v1/repos/locked/library/alpine/-/tags", 502, "UPSTREAM_DENIED"},
		{"GET", "/api/v1/repos/anon/library/alpine/-/manifests/latest", 502, "UPSTREAM_DENIED"},
		{"GET", "/api/v1/repos/broken/library/alpine/-/manifests/latest", 502, "UPSTREAM_UNAVAILABLE"},
		{"GET", "/api/v1/repos/down/library/alpine/-/tags", 502, "UPSTREAM_UNAVAILABLE"},
		{"GET", "/api/v1/repos/slow/library/alpine/-/manifests/latest", 504, "UPSTREAM_TIMEOUT"},
		{"GET", "/api/v1/repos/slowop/library/alpine/-/digest/latest", 504, "UPSTREAM_TIMEOUT"},
		{"GET", "/api/v1/repos/nocatalog/-/repositories", 501, "CATALOG_UNSUPPORTED"},
		{"GET", "/api/v1/repos/ggcr/nested/index/-/config/v1", 500, "INTERNAL"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		before := len(dist.Requests())
		res := a.do(t, tt.method, tt.path, nil)
		p := res.problem(t, tt.status, tt.code)
		seen[p.Code] = true
		if tt.status == 400 {
			if n := len(dist.Requests()) - before; n != 0 {
				t.Errorf("%s %s: %d upstream requests for bad input, want 0", tt.method, tt.path, n)
			}
		}
		if res.Header.Get("Cache-Control") != cacheControlNone {
			t.Errorf("%s %s: Cache-Control %q, want %s", tt.method, tt.path, res.Header.Get("Cache-Control"), cacheControlNone)
		}
		switch tt.code {
		case "TOOMANYREQUESTS":
			if got := res.Header.Get("Retry-After"); got != "7" {
				t.Errorf("%s: Retry-After = %q, want 7 (the upstream's)", tt.path, got)
			}
		case "METHOD_NOT_ALLOWED":
			if res.Header.Get("Allow") == "" {
				t.Errorf("%s %s: 405 without Allow", tt.method, tt.path)
			}
		case "PLATFORM_UNKNOWN":
			if len(p.Platforms) != 2 {
				t.Errorf("%s: platforms = %v, want the index's two", tt.path, p.Platforms)
			}
		}
		if strings.Contains(string(res.Body), "wrong") || strings.Contains(string(res.Body), "robot") {
			t.Errorf("%s: body leaks credentials: %s", tt.path, res.Body)
		}
	}
	for _, c := range problemCodes {
		// TestAccessControl reaches UNAUTHORIZED and DENIED, TestLimits
		// BODY_TOO_LARGE and the caller's TOOMANYREQUESTS, TestCopyRejects
		// BODY_INVALID, TestUploadRejects TARBALL_INVALID.
		// TestFiles reaches FILE_TOO_LARGE, TestFilesLayerLimits
		// LAYER_UNPROCESSABLE, TestReadsConcurrencyLimit TOO_BUSY,
		// TestUploadStalled REQUEST_TIMEOUT, TestLimits URI_TOO_LONG and
		// HEADERS_TOO_LARGE, TestHostileUpstreamIsBadGateway UPSTREAM_INVALID,
		// TestImageTableErrors TOO_MANY_TAGS.
		if !seen[c.Code] && c != codeUnauthorized && c != codeDenied && c != codeBodyTooLarge &&
			c != codeBodyInvalid && c != codeTarballInvalid && c != codeRequestTimeout && c != codeURITooLong && c != codeHeadersTooLarge &&
			c != codeUpstreamInvalid &&
			c != codeFileTooLarge && c != codeLayerUnprocessable && c != codeTooBusy && c != codeTooManyTags {
			t.Errorf("no test reaches %s", c.Code)
		}
	}
	if n := limitedHits.Load(); n > 3 {
		t.Errorf("rate-limited upstream got %d requests, want no retry storm", n)
	}

	// HEAD answers the status without a body.
	if res := a.do(t, http.MethodHead, "/api/v1/repos/dist/library/alpine/-/tags", nil); res.Status != 200 || len(res.Body) != 0 {
		t.Errorf("HEAD tags = %d with %d bytes, want 200 and no body", res.Status, len(res.Body))
	}
	if res := a.do(t, http.MethodHead, "/api/v1/repos/broken/library/alpine/-/manifests/latest", nil); res.Status != 502 || len(res.Body) != 0 {
		t.Errorf("HEAD on a failing upstream = %d with %d bytes, want 502 and no body", res.Status, len(res.Body))
	}
}

// nestedIndex is an index whose linux/amd64 entry is itself an index:
// regapi cannot take a config from it.
func nestedIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	inner := registrytest.RandomIndex(t)
	p := v1.Platform{OS: "linux", Architecture: "amd64"}
	return mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
		Add:        inner,
		Descriptor: v1.Descriptor{MediaType: must(inner.MediaType()), Platform: &p},
	})
}

// TestExtractAbortsMidStream cuts a layer blob halfway: the client must see
// a broken transfer, not a tar that ends cleanly.
func TestExtractAbortsMidStream(t *testing.T) {
	gg := registrytest.StartGGCR(t, false)
	big := make([]byte, 4<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	layer := must(crane.Layer(map[string][]byte{"big.bin": big}))
	img := withPlatform(t, must(mutate.AppendLayers(empty.Image, layer)), v1.Platform{OS: "linux", Architecture: "amd64"})
	registrytest.Push(t, gg.Host+"/big/img:v1", img)
	layerDigest := must(layer.Digest()).String()

	upstream, err := http.NewRequest(http.MethodGet, gg.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cut atomic.Int64
	proxy, _ := stubRegistry(t, false, func(w http.ResponseWriter, r *http.Request) {
		u := *upstream.URL
		u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, u.String(), r.Body)
		req.Header = r.Header.Clone()
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+layerDigest) {
			// Write errors show as the client's failure, which the test asserts on.
			_, _ = io.CopyN(w, res.Body, 1<<20)
			w.(http.Flusher).Flush()
			cut.Add(1)
			panic(http.ErrAbortHandler)
		}
		_, _ = io.Copy(w, res.Body) // as above: the client sees a failed copy
	})
	a := newAPI(t, Config{Upstreams: []Upstream{{Name: "cut", Host: proxy, Client: clientFor(proxy, nil)}}})

	res, err := http.Get(a.URL + "/api/v1/repos/cut/big/img/-/extract/v1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("extract = %d, want 200 before the cut", res.StatusCode)
	}
	n, err := io.Copy(io.Discard, res.Body)
	if err == nil {
		t.Errorf("extract body ended cleanly after %d bytes, want a broken transfer", n)
	}
	if n == 0 || errors.Is(err, io.EOF) {
		t.Errorf("extract read %d bytes, err %v; want some bytes then an unexpected end", n, err)
	}
	if cut.Load() == 0 {
		t.Error("the layer was never cut")
	}
}
