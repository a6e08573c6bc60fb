package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// discardWriter is a ResponseWriter that keeps the status and counts the
// body, so that a benchmark measures the server and not a recorder.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int)   { w.status = s }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

func (w *discardWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// BenchmarkRouterCacheHit serves cached answers through the whole router
// (chi, path parsing, the handler, the real cache, JSON encoding and the
// entity tag), from a real distribution registry in-process. It fails if
// any iteration reaches the registry or misses the cache.
func BenchmarkRouterCacheHit(b *testing.B) {
	dist := registrytest.StartDistribution(b, nil)
	img := registrytest.PushRandomImage(b, dist.Host, "corpus/tags", "t000")
	for i := 1; i < 100; i++ {
		registrytest.Push(b, fmt.Sprintf("%s/corpus/tags:t%03d", dist.Host, i), img)
	}
	digest := must(img.Digest()).String()
	c, err := cache.New()
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer(Config{
		Upstreams: []Upstream{{Name: "bench", Host: dist.Host, Client: c.Wrap("bench", clientFor(dist.Host, nil))}},
		Cache:     c,
		Logger:    slog.New(slog.DiscardHandler),
		Auth:      openAuth(b),
	})

	cases := []struct {
		name   string
		path   string
		header http.Header
		status int
	}{
		{"tags", "/api/v1/repos/bench/corpus/tags/-/tags", nil, http.StatusOK},
		{"manifest/tag", "/api/v1/repos/bench/corpus/tags/-/manifests/t042", nil, http.StatusOK},
		{"manifest/digest", "/api/v1/repos/bench/corpus/tags/-/manifests/" + digest, nil, http.StatusOK},
		{"manifest/tag/raw", "/api/v1/repos/bench/corpus/tags/-/manifests/t042?raw=true", nil, http.StatusOK},
		{"manifest/tag/304", "/api/v1/repos/bench/corpus/tags/-/manifests/t042", http.Header{"If-None-Match": {`"` + digest + `"`}}, http.StatusNotModified},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			w := &discardWriter{h: http.Header{}}
			srv.ServeHTTP(w, req) // the miss that fills the cache
			w.reset()
			srv.ServeHTTP(w, req)
			if w.status != tc.status || w.h.Get("X-Cache") != "HIT" {
				b.Fatalf("GET %s = %d X-Cache %q, want %d HIT", tc.path, w.status, w.h.Get("X-Cache"), tc.status)
			}
			before := len(dist.Requests())
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				srv.ServeHTTP(w, req)
			}
			if w.status != tc.status {
				b.Fatalf("GET %s = %d, want %d", tc.path, w.status, tc.status)
			}
			if n := len(dist.Requests()) - before; n != 0 {
				b.Fatalf("GET %s reached the registry %d times during the benchmark, want 0", tc.path, n)
			}
		})
	}
}

// BenchmarkEncodeTags encodes a page of tags as the tags handler answers it:
// JSON, the body's entity tag and the headers.
func BenchmarkEncodeTags(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			resp := tagsResponse{Registry: "bench", Repository: "corpus/tags", Tags: make([]string, n)}
			for i := range resp.Tags {
				resp.Tags[i] = fmt.Sprintf("v1.%d.%d-alpine3.%d", i/10, i%10, i%20)
			}
			req := httptest.NewRequest(http.MethodGet, "/api/v1/repos/bench/corpus/tags/-/tags", nil)
			w := &discardWriter{h: http.Header{}}
			logger := slog.New(slog.DiscardHandler)
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				respondJSON(w, req, logger, resp, "", cacheControlShort)
			}
			if w.status != http.StatusOK || w.n < n*8 {
				b.Fatalf("respondJSON = %d with %d bytes, want 200 with at least %d", w.status, w.n, n*8)
			}
		})
	}
}

// BenchmarkParseRepoPath parses and validates the part of the URL after
// /api/v1/repos/ for the common shapes.
func BenchmarkParseRepoPath(b *testing.B) {
	cases := []struct{ name, path string }{
		{"tags", "hub/library/alpine/-/tags"},
		{"manifest/tag", "hub/library/alpine/-/manifests/3.20"},
		{"manifest/nested", "ghcr/org/team-a/group/sub/service-name/-/manifests/v1.2.3-rc.1"},
		{"manifest/digest", "hub/library/alpine/-/manifests/sha256:" + fmt.Sprintf("%064x", 42)},
		{"repositories", "hub/-/repositories"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			if _, err := parseRepoPath(tc.path); err != nil {
				b.Fatalf("parseRepoPath(%q) = %v, want nil", tc.path, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = parseRepoPath(tc.path)
			}
		})
	}
}
