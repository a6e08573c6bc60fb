package handlers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// trickleProxy is a hostile upstream in front of a real registry: it
// passes everything through, except the GETs of the blobs it is told to
// trickle, which send their first half and then nothing more until
// released. It is a trickle slowed to a stop, so that a read of such a
// blob ends only with its context, whatever the machine's speed. A fault
// a real registry cannot be made to show.
type trickleProxy struct {
	target string
	host   string // the proxy's own host:port

	mu       sync.Mutex
	blobs    map[string]bool
	trickled chan string // a trickled body began (its digest)
	open     chan struct{}
	once     sync.Once
}

func newTrickleProxy(t *testing.T, target string, blobs ...v1.Hash) *trickleProxy {
	t.Helper()
	p := &trickleProxy{target: target, blobs: map[string]bool{}, trickled: make(chan string, 16), open: make(chan struct{})}
	for _, b := range blobs {
		p.blobs[b.String()] = true
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	t.Cleanup(p.release) // never leave a handler blocked
	p.host = srv.Listener.Addr().String()
	return p
}

func (p *trickleProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, err := forward(w, r, p.target)
	if res.Status == 0 || err != nil {
		return // unreachable (answered 502), or the caller went away
	}
	body := res.Body
	for k, vs := range res.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(res.Status)
	_, d, _ := strings.Cut(r.URL.Path, "/blobs/")
	p.mu.Lock()
	trickle := r.Method == http.MethodGet && p.blobs[d] && len(body) > 1
	p.mu.Unlock()
	if !trickle {
		_, _ = w.Write(body)
		return
	}
	half := len(body) / 2
	_, _ = w.Write(body[:half])
	w.(http.Flusher).Flush()
	p.trickled <- d
	select {
	case <-p.open:
		_, _ = w.Write(body[half:])
	case <-r.Context().Done():
	}
}

// release lets trickled bodies, and all later ones, through.
func (p *trickleProxy) release() { p.once.Do(func() { close(p.open) }) }

// waitTrickling waits for a trickled body to begin.
func (p *trickleProxy) waitTrickling(t *testing.T) {
	t.Helper()
	select {
	case <-p.trickled:
	case <-time.After(20 * time.Second):
		t.Fatal("no trickled blob request arrived")
	}
}

// answer is what a request sent from another goroutine got back.
type answer struct {
	response
	err error
}

// goGet sends GET path with the env's token from a goroutine of its own
// and delivers the answer, unvalidated, on the channel it returns.
func (e *apiEnv) goGet(path string) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, e.URL+path, nil)
		if err != nil {
			ch <- answer{err: err}
			return
		}
		if e.token != "" {
			req.Header.Set("Authorization", "Bearer "+e.token)
		}
		res, err := e.c.Do(req)
		if err != nil {
			ch <- answer{err: err}
			return
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		ch <- answer{response{Status: res.StatusCode, Header: res.Header, Body: body}, err}
	}()
	return ch
}

// dirNames decodes a files route's directory answer into its names.
func dirNames(t *testing.T, label string, a answer) []string {
	t.Helper()
	if a.err != nil || a.Status != http.StatusOK {
		t.Fatalf("%s: %d %v %.300s", label, a.Status, a.err, a.Body)
	}
	var fr filesResponse
	if err := json.Unmarshal(a.Body, &fr); err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	var names []string
	for _, e := range fr.Entries {
		names = append(names, e.Name)
	}
	return names
}

// layerGets counts the GETs of layers at g.
func layerGets(g *gatedRegistry, layers []v1.Layer) int {
	n := 0
	for _, l := range layers {
		n += g.blobGets(must(l.Digest()))
	}
	return n
}

// TestFilesIndexKeptApartByUpstream: two upstreams serve one image (one
// digest), one of them hostile and trickling its base layer. A files
// request on the honest one answers while the hostile one's index build is
// stuck, and the index one upstream built is never another's.
func TestFilesIndexKeptApartByUpstream(t *testing.T) {
	g := startGated(t)
	layers := readsLayers(t, readsPlatforms[0])
	registrytest.Push(t, g.Host+"/reads/single:v1", imageOf(t, readsPlatforms[0], layers...))
	hostile := newTrickleProxy(t, g.Host, must(layers[0].Digest()))
	a := newAPI(t, Config{Upstreams: []Upstream{
		{Name: "honest", Host: g.Host, Client: clientFor(g.Host, nil)},
		{Name: "hostile", Host: hostile.host, Client: clientFor(hostile.host, nil)},
		{Name: "other", Host: g.Host, Client: clientFor(g.Host, nil)},
	}})
	// Released before the server's Close, which waits for its requests.
	t.Cleanup(hostile.release)
	const path = "/reads/single/-/files/v1/etc"

	// A listing needs every layer, so it builds the index; the hostile
	// upstream's base layer stops after its first KiB.
	stuck := a.goGet("/api/v1/repos/hostile" + path)
	hostile.waitTrickling(t)
	honest := a.goGet("/api/v1/repos/honest" + path)
	var want []string
	select {
	case got := <-honest:
		want = dirNames(t, "honest listing while the hostile build is stuck", got)
	case got := <-stuck:
		t.Fatalf("the hostile read ended (%d %v) while its upstream still trickled: the test proves nothing", got.Status, got.err)
	case <-time.After(30 * time.Second):
		t.Fatal("the honest upstream's files request waited on the hostile upstream's build of the same digest")
	}
	hostile.release()
	if got := dirNames(t, "hostile listing once released", <-stuck); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("hostile listing %v, want %v", got, want)
	}

	// Each upstream answers from its own index: the honest one's answers
	// it without a layer; the same digest on another upstream is walked.
	g.resetGets()
	if res := a.get(t, "/api/v1/repos/honest"+path); res.Status != http.StatusOK {
		t.Fatalf("honest listing again = %d", res.Status)
	}
	if n := layerGets(g, layers); n != 0 {
		t.Errorf("a repeat listing on the upstream that built the index fetched %d layers, want 0", n)
	}
	if res := a.get(t, "/api/v1/repos/other"+path); res.Status != http.StatusOK {
		t.Fatalf("other listing = %d", res.Status)
	}
	if n := layerGets(g, layers); n != len(layers) {
		t.Errorf("a listing on an upstream that never built the index fetched %d layers, want %d: another upstream's index answered it", n, len(layers))
	}
}

// TestFilesWaiterNotHostageToBuild: on one upstream, a files request that
// finds another request's index build in progress, stuck on a layer it
// does not need, waits for it only briefly and answers from the layers it
// needs.
func TestFilesWaiterNotHostageToBuild(t *testing.T) {
	a := newReadsAPI(t, Reads{})
	// Released before the server's Close, which waits for its requests.
	t.Cleanup(a.g.release)
	a.g.holdBlob(must(a.single[0].Digest())) // the base layer: the build needs it, top.txt does not
	base := "/api/v1/repos/g/reads/single/-/files/v1/"
	building := a.goGet(base + "etc")
	a.g.waitHeld(t)
	waiter := a.goGet(base + "top.txt")
	select {
	case got := <-waiter:
		if got.err != nil || got.Status != http.StatusOK || string(got.Body) != "from the top layer\n" {
			t.Errorf("top.txt while the build is stuck = %d %v %q, want 200 from the top layer", got.Status, got.err, got.Body)
		}
	case got := <-building:
		t.Fatalf("the build ended (%d %v) while its layer was held: the test proves nothing", got.Status, got.err)
	case <-time.After(30 * time.Second):
		t.Fatal("a files request waited for another request's index build to end")
	}
	a.g.release()
	dirNames(t, "the listing that built the index", <-building)
	if res := a.get(t, base+"etc"); res.Status != http.StatusOK {
		t.Errorf("listing from the index = %d", res.Status)
	}
}

// TestFileIndexSharedTierKeptApartByUpstream: replicas over one shared
// tier take the file index one of them built for an upstream, and only for
// that upstream.
func TestFileIndexSharedTierKeptApartByUpstream(t *testing.T) {
	tier := startSharedTier(t)
	g := startGated(t)
	layers := readsLayers(t, readsPlatforms[0])
	registrytest.Push(t, g.Host+"/reads/single:v1", imageOf(t, readsPlatforms[0], layers...))
	replica := func() *apiEnv {
		c, err := cache.New(cache.WithShared(tier.redis.URL, "", ""))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() }) // a loopback test server
		return newAPI(t, Config{
			Upstreams: []Upstream{
				{Name: "honest", Host: g.Host, Client: clientFor(g.Host, nil)},
				{Name: "other", Host: g.Host, Client: clientFor(g.Host, nil)},
			},
			Reads: Reads{Shared: c},
		})
	}
	first, second := replica(), replica()
	const path = "/reads/single/-/files/v1/etc"
	if res := first.get(t, "/api/v1/repos/honest"+path); res.Status != http.StatusOK {
		t.Fatalf("first replica's listing = %d", res.Status)
	}
	// The other upstream first, so that nothing in the second replica's
	// memory can answer: only the tier could.
	g.resetGets()
	if res := second.get(t, "/api/v1/repos/other"+path); res.Status != http.StatusOK {
		t.Fatalf("listing on the other upstream = %d", res.Status)
	}
	if n := layerGets(g, layers); n != len(layers) {
		t.Errorf("a listing on another upstream fetched %d layers, want %d: the shared index of one upstream answered for another", n, len(layers))
	}
	g.resetGets()
	if res := second.get(t, "/api/v1/repos/honest"+path); res.Status != http.StatusOK {
		t.Fatalf("second replica's listing = %d", res.Status)
	}
	if n := layerGets(g, layers); n != 0 {
		t.Errorf("the second replica fetched %d layers for an index the tier holds, want 0", n)
	}
}
