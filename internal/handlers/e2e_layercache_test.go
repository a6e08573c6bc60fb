package handlers

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regapi/regapi/internal/layercache"
	"github.com/regapi/regapi/internal/layercache/layercachetest"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// lockedBuilder is a strings.Builder for a logger written from many
// goroutines.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// counterValue returns the value of the counter or gauge name in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var v float64
		for _, m := range mf.GetMetric() {
			v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		return v
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestLayerCacheFullDiskDegrades: when the cache's disk fills up mid-write,
// files and extract answer as without a cache (streaming from the
// registry), the failure is counted and logged, and no file is left.
func TestLayerCacheFullDiskDegrades(t *testing.T) {
	g := startGated(t)
	single := readsLayers(t, readsPlatforms[0])
	registrytest.Push(t, g.Host+"/reads/single:v1", imageOf(t, readsPlatforms[0], single...))
	reg := prometheus.NewRegistry()
	var log lockedBuilder
	dir := t.TempDir()
	lc := newLayerCache(t, dir, layercache.WithRegisterer(reg),
		layercache.WithLogger(slog.New(slog.NewTextHandler(&log, nil))),
		layercache.WithTempFiles(func(dir string) (layercache.TempFile, error) {
			return layercachetest.NewFullDisk(dir, 700)
		}))
	api := func(reads Reads) *apiEnv {
		return newAPI(t, Config{
			Upstreams: []Upstream{{Name: "g", Host: g.Host, Client: clientFor(g.Host, nil)}},
			Logger:    slog.New(slog.DiscardHandler),
			Reads:     reads,
		})
	}
	plain, full := api(Reads{IndexBytes: -1}), api(Reads{LayerCache: lc})
	base := "/api/v1/repos/g/reads/single/-/"
	for _, p := range []string{"extract/v1", "files/v1/etc/os-release", "files/v1/etc", "files/v1/big", "files/v1/nothing"} {
		for round := range 2 {
			want, got := plain.get(t, base+p), full.get(t, base+p)
			if got.Status >= http.StatusInternalServerError {
				t.Errorf("%s on a full disk = %d %s", p, got.Status, got.Body)
			}
			sameAnswer(t, p+" on a full disk, round "+string(rune('1'+round)), want, got)
		}
	}
	if n := counterValue(t, reg, "regapi_layer_cache_disk_errors_total"); n < 1 {
		t.Errorf("regapi_layer_cache_disk_errors_total = %v, want at least 1", n)
	}
	if !strings.Contains(log.String(), "disk failure") {
		t.Errorf("no warning logged: %q", log.String())
	}
	if n, layers := lc.Bytes(); n != 0 || layers != 0 {
		t.Errorf("the cache counts %d layers, %d bytes after failed fills", layers, n)
	}
	entries, err := os.ReadDir(dir + "/tmp")
	if err != nil || len(entries) != 0 {
		t.Errorf("tmp/ holds %d files (%v) after failed fills", len(entries), err)
	}
}

// TestLayerCacheConcurrentFirstReads: concurrent first extracts and files
// reads of one image download each layer once (they follow the same
// fills, and build the file index once) and all answer the same as
// without a cache.
func TestLayerCacheConcurrentFirstReads(t *testing.T) {
	g := startGated(t)
	single := readsLayers(t, readsPlatforms[0])
	registrytest.Push(t, g.Host+"/reads/single:v1", imageOf(t, readsPlatforms[0], single...))
	api := func(reads Reads) *apiEnv {
		return newAPI(t, Config{
			Upstreams: []Upstream{{Name: "g", Host: g.Host, Client: clientFor(g.Host, nil)}},
			Logger:    slog.New(slog.DiscardHandler),
			Reads:     reads,
		})
	}
	paths := []string{"extract/v1", "extract/v1", "files/v1/etc/os-release", "files/v1/etc", "extract/v1", "files/v1/big"}
	plain := api(Reads{IndexBytes: -1})
	// One caller holds every read, and the files reads wait for the
	// index build however long a loaded machine makes it: past indexWait
	// a waiter reads the layers it needs itself, and may fetch one the
	// build fetches too (a fill whose only reader left early stops).
	cached := api(Reads{LayerCache: newLayerCache(t, t.TempDir()), Concurrency: len(paths), CallerConcurrency: len(paths), indexWait: time.Minute})
	base := "/api/v1/repos/g/reads/single/-/"
	want := map[string]response{}
	for _, p := range paths {
		want[p] = plain.get(t, base+p)
	}
	g.resetGets()
	// Hold the base layer so that the requests overlap; however they
	// interleave, each layer must be fetched once.
	g.holdBlob(must(single[0].Digest()))
	type result struct {
		path string
		res  response
		err  error
	}
	results := make(chan result, len(paths))
	for _, p := range paths {
		go func() {
			req, err := http.NewRequest(http.MethodGet, cached.URL+base+p, nil)
			if err != nil {
				results <- result{p, response{}, err}
				return
			}
			req.Header.Set("Authorization", "Bearer "+cached.token)
			res, err := cached.c.Do(req)
			if err != nil {
				results <- result{p, response{}, err}
				return
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			results <- result{p, response{Status: res.StatusCode, Header: res.Header, Body: body}, err}
		}()
	}
	g.waitHeld(t)
	g.release()
	for range paths {
		r := <-results
		if r.err != nil {
			t.Errorf("%s: %v", r.path, r.err)
			continue
		}
		sameAnswer(t, r.path+" (concurrent, cached)", want[r.path], r.res)
	}
	for i, l := range single {
		if n := g.blobGets(must(l.Digest())); n != 1 {
			t.Errorf("layer %d fetched %d times by %d concurrent first reads, want 1", i, n, len(paths))
		}
	}
}
