package handlers

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/registry/registrytest"
	"github.com/regapi/regapi/internal/transfer/transfertest"
)

// BenchmarkUploadHTTP measures PUT …/-/images/{tag} end to end: the body
// over HTTP, the spool, validation and the push, for a 32 MiB image (one
// random, incompressible layer). Each round pushes under a new repository,
// so the registry has none of the blobs; MB/s are of the body sent. The
// registry is go-containerregistry's in-memory one: the distribution
// registry's in-memory driver takes a push at about 2 MB/s (ggcr's own
// remote.Write included), which would measure it rather than regapi.
// Against ggcr, a push of the same image with remote.Write directly runs
// at about the OCI layout's rate.
func BenchmarkUploadHTTP(b *testing.B) {
	dist := registrytest.NewGGCR(b)
	c, err := cache.New()
	if err != nil {
		b.Fatal(err)
	}
	spool := b.TempDir()
	srv := httptest.NewServer(NewServer(Config{
		Upstreams: []Upstream{{Name: "dist", Host: dist, Client: c.Wrap("dist", clientFor(dist, nil))}},
		Logger:    slog.New(slog.DiscardHandler),
		Auth:      openAuth(b),
		Writes:    Writes{SpoolDir: spool},
	}))
	b.Cleanup(srv.Close)
	img := must(random.Image(32<<20, 1))
	for _, f := range []struct {
		name string
		body []byte
	}{
		{"docker-archive", transfertest.DockerArchive(b, img)},
		{"oci-layout", transfertest.OCILayout(b, img)},
	} {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(f.body)))
			i := 0
			for b.Loop() {
				i++
				url := fmt.Sprintf("%s/api/v1/repos/dist/bench/%s/r%d/-/images/v1", srv.URL, f.name, i)
				req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(f.body))
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+adminToken)
				res, err := srv.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					b.Fatalf("PUT = %d", res.StatusCode)
				}
			}
			if left, _ := os.ReadDir(spool); len(left) != 0 {
				b.Fatalf("spool holds %d files after the uploads", len(left))
			}
		})
	}
}
