package handlers

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// BenchmarkCacheHitHTTP measures answers served from the cache through the
// whole HTTP stack: a keep-alive client, net/http, chi, parsing, the cache
// and the JSON envelope.
func BenchmarkCacheHitHTTP(b *testing.B) {
	dist := registrytest.NewDistribution(b, nil)
	registrytest.PushRandomImage(b, dist, "library/alpine", "latest")
	c, err := cache.New()
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(Config{
		Upstreams: []Upstream{{Name: "dist", Host: dist, Client: c.Wrap("dist", clientFor(dist, nil))}},
		Logger:    slog.New(slog.DiscardHandler),
		Auth:      openAuth(b),
	}))
	b.Cleanup(srv.Close)
	client := srv.Client()

	for _, path := range []string{
		"/api/v1/repos/dist/library/alpine/-/tags",
		"/api/v1/repos/dist/library/alpine/-/manifests/latest",
		"/api/v1/repos/dist/library/alpine/-/config/latest",
	} {
		b.Run(path[len("/api/v1/repos/dist/library/alpine/-/"):], func(b *testing.B) {
			get := func() {
				res, err := client.Get(srv.URL + path)
				if err != nil {
					b.Fatal(err)
				}
				_, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if err != nil {
					b.Fatalf("GET %s: read body: %v", path, err)
				}
				if res.StatusCode != http.StatusOK {
					b.Fatalf("GET %s = %d", path, res.StatusCode)
				}
			}
			get() // warm the cache
			b.ReportAllocs()
			for b.Loop() {
				get()
			}
		})
	}
}
