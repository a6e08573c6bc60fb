package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/regapi/regapi/internal/demo"
)

// BenchmarkServedCacheHit is a cached read through the whole binary as
// deployed: run() with its middleware, access log at info (to a buffer
// that is thrown away), metrics, the cache and the demo registry, over
// keep-alive loopback HTTP with parallel clients. It fails if an answer is
// not a 200 from the cache. The client's CPU is in the figure too, so it
// is for comparing revisions side by side (and for -cpuprofile), not for
// absolute numbers; bench/run.sh has those.
//
// The "warn" instance has no access log (--log-level warn): the two side by
// side price the log line.
func BenchmarkServedCacheHit(b *testing.B) {
	servers := map[string]*running{}
	for _, level := range []string{"info", "warn"} {
		servers[level] = startRun(b, nil, "--demo", "--listen", "127.0.0.1:0", "--log-level", level)
	}
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(c.CloseIdleConnections)
	for _, tc := range []struct{ name, level, path string }{
		{"tags", "info", "/api/v1/repos/demo/" + demo.ManyTagsRepo + "/-/tags?limit=100"},
		{"tags/no-access-log", "warn", "/api/v1/repos/demo/" + demo.ManyTagsRepo + "/-/tags?limit=100"},
		{"manifest", "info", "/api/v1/repos/demo/" + demo.DockerRepo + "/-/manifests/1.37.0"},
		{"manifest/no-access-log", "warn", "/api/v1/repos/demo/" + demo.DockerRepo + "/-/manifests/1.37.0"},
	} {
		url := servers[tc.level].base + tc.path
		get := func() (string, error) {
			res, err := c.Get(url)
			if err != nil {
				return "", err
			}
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return "", &statusError{res.StatusCode}
			}
			return res.Header.Get("X-Cache"), err
		}
		if _, err := get(); err != nil { // the miss that fills the cache
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					xc, err := get()
					if err != nil {
						b.Error(err)
						return
					}
					if xc != "HIT" {
						b.Errorf("X-Cache = %q, want HIT", xc)
						return
					}
				}
			})
		})
	}
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "status " + http.StatusText(e.code) }
