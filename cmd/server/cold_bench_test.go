package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// coldTags is how many distinct tags (each its own manifest) the cold
// benchmark pushes. A regapi instance answers each at most once, so that
// every timed request is a cache miss; past coldTags the instance is
// replaced (untimed) by a fresh one.
const coldTags = 1024

// coldAccept is what bench/run.sh sends to the registry and the relay: the
// manifest types regapi's client accepts.
const coldAccept = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, " +
	"application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"

// BenchmarkColdManifest is bench/run.sh's "cold manifests" in-process:
// sequential GETs of a manifest by tag, each tag a distinct manifest, over
// real loopback HTTP with a keep-alive client, sent
//
//   - direct: to the CNCF distribution registry (in-memory storage);
//   - relay: through a bare httputil.ReverseProxy, the floor of any second
//     HTTP hop (bench/cmd/relay);
//   - regapi: through regapi as run wires it (flags, telemetry middleware,
//     access log at info, the answer cache with every request a miss, the
//     registry client with telemetry.UpstreamTransport), its logs discarded.
//
// Each side alone gives ns/op, its median and 90th percentile, and the
// process's CPU time and allocations per request (client, servers and
// registry together, so a side's own share is its difference from direct).
// upstream-req/op counts the requests the registry saw per timed request: 1
// on every side (regapi's one-time /v2/ handshake happens untimed).
// "interleaved" sends each tag to all three, rotating the order, and
// reports each side's median latency and the ratios of the medians, the
// figures bench/run.sh compares, from one run: on a shared machine the
// ratios hold where absolute times do not.
//
//	go test -run '^$' -bench ColdManifest -benchtime 1000x -count 6 ./cmd/server/
func BenchmarkColdManifest(b *testing.B) {
	dist := registrytest.StartDistribution(b, nil)
	tags := pushColdTags(b, dist.Host, "corpus/tags", coldTags)
	sides := func(b *testing.B) []*coldSide {
		return []*coldSide{newDirectSide(b, dist), newRelaySide(b, dist), newRegapiSide(b, dist)}
	}
	for i, name := range []string{"direct", "relay", "regapi"} {
		b.Run(name, func(b *testing.B) {
			s := sides(b)[i]
			defer s.close()
			// The registry's request log is read only around untimed
			// work: reading it copies it.
			requests := -len(dist.Requests())
			var d []time.Duration
			cpu := -processCPU(b)
			b.ReportAllocs()
			for b.Loop() {
				if s.exhausted(tags) {
					b.StopTimer()
					requests += len(dist.Requests())
					s.renew(tags)
					requests -= len(dist.Requests())
					b.StartTimer()
				}
				start := time.Now()
				s.get(tags)
				d = append(d, time.Since(start))
			}
			cpu += processCPU(b)
			requests += len(dist.Requests())
			b.ReportMetric(float64(requests)/float64(len(d)), "upstream-req/op")
			b.ReportMetric(float64(cpu.Microseconds())/float64(len(d)), "cpu-µs/op")
			slices.Sort(d)
			b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(d[len(d)*9/10].Microseconds()), "p90-µs")
		})
	}
	b.Run("interleaved", func(b *testing.B) {
		ss := sides(b)
		defer func() {
			for _, s := range ss {
				s.close()
			}
		}()
		orders := [][]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}, {1, 0, 2}, {0, 2, 1}}
		d := make([][]time.Duration, len(ss))
		i := 0
		for b.Loop() {
			for _, k := range orders[i%len(orders)] {
				s := ss[k]
				if s.exhausted(tags) {
					b.StopTimer()
					s.renew(tags)
					b.StartTimer()
				}
				start := time.Now()
				s.get(tags)
				d[k] = append(d[k], time.Since(start))
			}
			i++
		}
		med := make([]float64, len(ss))
		for k, s := range ss {
			slices.Sort(d[k])
			med[k] = float64(d[k][len(d[k])/2].Microseconds())
			b.ReportMetric(med[k], s.name+"-p50-µs")
		}
		b.ReportMetric(med[2]/med[0], "regapi/direct")
		b.ReportMetric(med[2]/med[1], "regapi/relay")
		b.ReportMetric(med[1]/med[0], "relay/direct")
	})
}

// processCPU is the user and system CPU time the process has used: client,
// servers and registry together, renewals included.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// coldSide sends GETs of one tag after another to one server.
type coldSide struct {
	b      *testing.B
	name   string
	client *http.Client
	tmpl   string // URL with {tag}, relative to base
	accept string
	base   string
	next   int
	// renew starts over at the first tag; for regapi, with a fresh instance.
	renewFn func()
	close   func()
}

func newCold(b *testing.B, name, tmpl, accept string) *coldSide {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.DisableCompression = 1, 1, true
	s := &coldSide{b: b, name: name, client: &http.Client{Transport: tr}, tmpl: tmpl, accept: accept}
	s.close = tr.CloseIdleConnections
	return s
}

func newDirectSide(b *testing.B, dist *registrytest.Registry) *coldSide {
	s := newCold(b, "direct", "/v2/corpus/tags/manifests/{tag}", coldAccept)
	s.base = dist.URL
	return s
}

func newRelaySide(b *testing.B, dist *registrytest.Registry) *coldSide {
	target := &url.URL{Scheme: "http", Host: dist.Host}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.DisableCompression = 256, 64, true
	relay := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.SetXForwarded()
		},
		Transport: tr,
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		if err := relay.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.Error(err)
		}
	}()
	s := newCold(b, "relay", "/v2/corpus/tags/manifests/{tag}", coldAccept)
	s.base = "http://" + ln.Addr().String()
	closeClient := s.close
	s.close = func() {
		closeClient()
		if err := relay.Close(); err != nil {
			b.Error(err)
		}
		tr.CloseIdleConnections()
	}
	return s
}

// newRegapiSide is regapi in front of dist; the first get starts it.
func newRegapiSide(b *testing.B, dist *registrytest.Registry) *coldSide {
	s := newCold(b, "regapi", "/api/v1/repos/bench/corpus/tags/-/manifests/{tag}", "")
	stop := func() {}
	s.renewFn = func() {
		stop()
		s.base, stop = startRegapi(b, dist.Host)
	}
	closeClient := s.close
	s.close = func() {
		closeClient()
		stop()
	}
	s.next = coldTags
	return s
}

func (s *coldSide) exhausted(tags []string) bool { return s.next >= len(tags) }

// renew starts over at the first tag. A regapi instance is replaced, and
// its repository's /v2/ handshake and first connections made by asking for
// tags[0]: that is not what a cold read costs once regapi runs.
func (s *coldSide) renew(tags []string) {
	s.next = 0
	if s.renewFn != nil {
		s.renewFn()
		s.get(tags)
	}
}

// get asks for the next tag and checks the answer.
func (s *coldSide) get(tags []string) {
	u := s.base + strings.ReplaceAll(s.tmpl, "{tag}", tags[s.next])
	s.next++
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		s.b.Fatal(err)
	}
	if s.accept != "" {
		req.Header.Set("Accept", s.accept)
	}
	res, err := s.client.Do(req)
	if err != nil {
		s.b.Fatal(err)
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		s.b.Fatalf("GET %s = %d, %v", u, res.StatusCode, err)
	}
	if s.renewFn != nil && res.Header.Get("X-Cache") == "HIT" {
		s.b.Fatalf("GET %s: X-Cache HIT, want a miss", u)
	}
}

// startRegapi runs regapi (run, as main does) on loopback in front of the
// plain-HTTP registry at host, with the cache on and the default log level
// unless extra flags say otherwise, its logs discarded. It returns the base
// URL and a stop function.
func startRegapi(b *testing.B, host string, extra ...string) (string, func()) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args := []string{
		"--listen", "127.0.0.1:0",
		"--upstream", "bench=http://" + host,
		"--allow-anonymous",
		"--spool-dir", b.TempDir(),
	}
	args = append(args, extra...)
	go func() {
		err := run(ctx, args, func(string) string { return "" }, pw, io.Discard)
		_ = pw.CloseWithError(fmt.Errorf("run ended: %w", err)) // always nil
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	var base string
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "regapi listening on "); ok {
			base = u
			break
		}
	}
	if base == "" {
		cancel()
		b.Fatalf("regapi did not start: %v", sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }() // nothing more is printed; never block run
	return base, func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("regapi: %v", err)
		}
	}
}

// pushColdTags pushes n tags t0000… to host/repo, each a distinct manifest
// (an annotation tells them apart) over one small image's blobs.
func pushColdTags(b *testing.B, host, repo string, n int) []string {
	b.Helper()
	img := registrytest.RandomImage(b, 1)
	registrytest.Push(b, host+"/"+repo+":base", img)
	// One Pusher pings the registry once for all the tags.
	pusher, err := remote.NewPusher()
	if err != nil {
		b.Fatal(err)
	}
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%04d", i)
		ref, err := name.ParseReference(host+"/"+repo+":"+tags[i], name.Insecure)
		if err != nil {
			b.Fatal(err)
		}
		tagged := mutate.Annotations(img, map[string]string{"tag": tags[i]}).(v1.Image)
		if err := pusher.Push(context.Background(), ref, tagged); err != nil {
			b.Fatalf("push %s: %v", ref, err)
		}
	}
	return tags
}
