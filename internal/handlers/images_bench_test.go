package handlers

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// BenchmarkImageTable serves the table of a 120-tag repository (the table
// fixture: images, indexes, aliases) from the distribution registry
// in-process, over real HTTP through the whole stack. Reported besides
// ns/op, the warm table's cost:
//
//   - cold-req, cold-ms: the first table's upstream requests and wall time;
//   - cold-pulls, client-pulls: the manifest GETs among them (what Docker
//     Hub counts against its pull limit; HEADs are free);
//   - warm-req: upstream requests per warm table (must be 0);
//   - client-req, client-ms: the same table worked out by a client the way
//     crane or regctl scripts do it (tag list, then per tag the manifest
//     and the config: 1 + 2N, more for indexes), against the same registry.
func BenchmarkImageTable(b *testing.B) {
	const n = 120
	dist := registrytest.StartDistribution(b, nil)
	tags := pushTable(b, dist.Host, tableRepo, n)
	c, err := cache.New()
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(Config{
		Upstreams: []Upstream{{Name: "dist", Host: dist.Host, Client: c.Wrap("dist", clientFor(dist.Host, nil))}},
		Cache:     c,
		Logger:    slog.New(slog.DiscardHandler),
		Auth:      openAuth(b),
	}))
	b.Cleanup(srv.Close)
	hc := srv.Client()
	url := srv.URL + "/api/v1/repos/dist/" + tableRepo + "/-/images?limit=1000"
	get := func() {
		res, err := hc.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("GET images = %d", res.StatusCode)
		}
	}

	manifestGETs := func() int { return dist.CountRequests(http.MethodGet, "/v2/"+tableRepo+"/manifests/") }
	clientReq, clientTime := clientTable(b, dist, tags)
	clientPulls := manifestGETs()
	dist.ResetRequests()
	start := time.Now()
	get()
	coldTime := time.Since(start)
	coldReq, coldPulls := len(dist.Requests()), manifestGETs()
	dist.ResetRequests()

	for b.Loop() {
		get()
	}
	warm := len(dist.Requests())
	if warm != 0 {
		b.Fatalf("warm tables made %d upstream requests, want 0", warm)
	}
	b.ReportMetric(float64(coldReq), "cold-req")
	b.ReportMetric(float64(coldPulls), "cold-pulls")
	b.ReportMetric(float64(clientPulls), "client-pulls")
	b.ReportMetric(float64(coldTime.Microseconds())/1000, "cold-ms")
	b.ReportMetric(float64(warm)/float64(b.N), "warm-req")
	b.ReportMetric(float64(clientReq), "client-req")
	b.ReportMetric(float64(clientTime.Microseconds())/1000, "client-ms")
}

// clientTable works the table out as a client script does with
// go-containerregistry (crane's library): the tag list, then per tag its
// manifest and config, one request after the other. It returns the
// upstream requests and the wall time.
func clientTable(b *testing.B, dist *registrytest.Registry, tags []string) (int, time.Duration) {
	b.Helper()
	dist.ResetRequests()
	start := time.Now()
	repo, err := name.NewRepository(dist.Host+"/"+tableRepo, name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	// One transport for the whole script, as a CLI run has: pings and
	// connections are paid once.
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	pull, err := remote.NewPuller(remote.WithTransport(tr))
	if err != nil {
		b.Fatal(err)
	}
	listed, err := pull.List(b.Context(), repo)
	if err != nil || len(listed) != len(tags) {
		b.Fatalf("list = %d tags, %v; want %d", len(listed), err, len(tags))
	}
	for _, tag := range listed {
		desc, err := pull.Get(b.Context(), repo.Tag(tag))
		if err != nil {
			b.Fatal(err)
		}
		if desc.MediaType.IsIndex() {
			idx, err := desc.ImageIndex()
			if err != nil {
				b.Fatal(err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				b.Fatal(err)
			}
			for _, m := range im.Manifests {
				img, err := idx.Image(m.Digest)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := img.ConfigFile(); err != nil {
					b.Fatal(err)
				}
			}
			continue
		}
		img, err := desc.Image()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := img.ConfigFile(); err != nil {
			b.Fatal(err)
		}
	}
	return len(dist.Requests()), time.Since(start)
}
