package handlers

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// fxEntry is one tar entry of a test layer.
type fxEntry struct {
	name string
	typ  byte
	body string
	link string
	mode int64
}

func fxFile(name, body string) fxEntry {
	return fxEntry{name: name, typ: tar.TypeReg, body: body, mode: 0o644}
}
func fxDir(name string) fxEntry { return fxEntry{name: name, typ: tar.TypeDir, mode: 0o755} }
func fxSymlink(name, target string) fxEntry {
	return fxEntry{name: name, typ: tar.TypeSymlink, link: target, mode: 0o777}
}

// fxTar writes entries as a tar stream.
func fxTar(t testing.TB, entries ...fxEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, ModTime: mtime, Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzipLayer is a gzip-compressed layer of entries. Its DiffID, in the
// image config, is the digest of its tar, as a registry's images have
// (static.NewLayer would record the gzip's digest, which the layer cache
// rightly refuses).
func gzipLayer(t testing.TB, entries ...fxEntry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(fxTar(t, entries...)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return must(partial.CompressedToLayer(gzipBlob{static.NewLayer(buf.Bytes(), types.OCILayer)}))
}

// gzipBlob is a compressed blob whose uncompressed form ggcr derives.
type gzipBlob struct{ l v1.Layer }

func (b gzipBlob) Digest() (v1.Hash, error)            { return b.l.Digest() }
func (b gzipBlob) Compressed() (io.ReadCloser, error)  { return b.l.Compressed() }
func (b gzipBlob) Size() (int64, error)                { return b.l.Size() }
func (b gzipBlob) MediaType() (types.MediaType, error) { return b.l.MediaType() }

// zstdBomb is a zstd layer holding one file of n zero bytes: a few KiB
// that decompress past any sane ratio.
func zstdBomb(t testing.TB, n int) v1.Layer {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Size: int64(n), Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = enc.Close() }() // EncodeAll does not write through it
	return static.NewLayer(enc.EncodeAll(tb.Bytes(), nil), types.OCILayerZStd)
}

// imageOf stacks layers (base first) into an image for platform p.
func imageOf(t testing.TB, p v1.Platform, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := must(mutate.AppendLayers(empty.Image, layers...))
	cf := must(img.ConfigFile()).DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	return must(mutate.ConfigFile(img, cf))
}

// readsLayers are the layers of the files/extract fixture for platform p:
// a base, a middle layer with whiteouts, an opaque directory and links of
// every kind, and a small top layer.
func readsLayers(t testing.TB, p v1.Platform) []v1.Layer {
	t.Helper()
	base := gzipLayer(t,
		fxDir("etc/"),
		fxFile("etc/os-release", "ID=regapi\nPLATFORM="+platformString(p)+"\n"),
		fxFile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
		fxFile("etc/a", "deleted above"),
		fxDir("dir/"),
		fxFile("dir/x", "hidden by the opaque marker"),
		fxDir("bin/"),
		fxFile("bin/tool", "\x7fELF\x02\x01\x01\x00binary"),
		fxFile("big", strings.Repeat("0123456789abcdef", 256)), // 4 KiB
		fxFile("index.html", "<!DOCTYPE html><html><body>hi</body></html>"),
	)
	middle := gzipLayer(t,
		fxFile("etc/.wh.a", ""),
		fxFile("dir/.wh..wh..opq", ""),
		fxFile("dir/y", "y"),
		fxSymlink("osr", "etc/os-release"),            // relative, inside
		fxSymlink("etclink", "/etc"),                  // absolute, a directory
		fxSymlink("abs", "/etc/passwd"),               // absolute, resolved from the image root
		fxSymlink("escape", "../../../../etc/shadow"), // relative, leaves the root: dropped
		fxSymlink("dangling", "nowhere"),
		fxSymlink("loop", "loop"),
		fxEntry{name: "hard", typ: tar.TypeLink, link: "etc/passwd", mode: 0o644},
		fxEntry{name: "etc/fifo", typ: tar.TypeFifo, mode: 0o600},
	)
	top := gzipLayer(t,
		fxFile("top.txt", "from the top layer\n"),
		fxFile("version.json", `{"version":"v1"}`+"\n"),
	)
	return []v1.Layer{base, middle, top}
}

// readsPlatforms are the platforms of the fixture index.
var readsPlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64", Variant: "v8"},
}

// readsIndex is the fixture as an index of readsPlatforms.
func readsIndex(t testing.TB) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, p := range readsPlatforms {
		img := imageOf(t, p, readsLayers(t, p)...)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return mutate.AppendManifests(empty.Index, adds...)
}

// gatedRegistry is go-containerregistry's registry behind a gate that
// counts blob GETs and can hold the GETs of chosen blobs until released,
// recording when a held request's context ends (the caller gave up).
type gatedRegistry struct {
	*registrytest.Registry
	next http.Handler

	mu          sync.Mutex
	gets        map[string]int
	hold        map[string]bool
	open        chan struct{} // closed to release held requests
	releaseOnce sync.Once
	held        chan string // a held request arrived (its digest)
	ended       chan time.Time
	// cancelled counts held requests whose context ended before release.
	cancelled atomic.Int64
}

func startGated(t *testing.T) *gatedRegistry {
	t.Helper()
	g := &gatedRegistry{
		next:  ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))),
		gets:  map[string]int{},
		hold:  map[string]bool{},
		open:  make(chan struct{}),
		held:  make(chan string, 16),
		ended: make(chan time.Time, 16),
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	t.Cleanup(g.release) // never leave a handler blocked
	g.Registry = &registrytest.Registry{Host: srv.Listener.Addr().String(), URL: srv.URL, Server: srv}
	return g
}

func (g *gatedRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := strings.Index(r.URL.Path, "/blobs/sha256:")
	if i < 0 || r.Method != http.MethodGet {
		g.next.ServeHTTP(w, r)
		return
	}
	d := r.URL.Path[i+len("/blobs/"):]
	g.mu.Lock()
	g.gets[d]++
	hold := g.hold[d]
	g.mu.Unlock()
	if hold {
		g.held <- d
		select {
		case <-g.open:
		case <-r.Context().Done():
			g.cancelled.Add(1)
			g.ended <- time.Now()
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// holdBlob makes GETs of d wait for release.
func (g *gatedRegistry) holdBlob(d v1.Hash) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold[d.String()] = true
}

// release lets held requests, and all later ones, through.
func (g *gatedRegistry) release() {
	g.releaseOnce.Do(func() { close(g.open) })
}

// blobGets returns how many times blob d was fetched.
func (g *gatedRegistry) blobGets(d v1.Hash) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gets[d.String()]
}

// totalGets returns how many blob GETs were counted.
func (g *gatedRegistry) totalGets() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.gets {
		n += c
	}
	return n
}

// resetGets forgets the blob GETs counted so far.
func (g *gatedRegistry) resetGets() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gets = map[string]int{}
}

// waitHeld waits for a held request to arrive.
func (g *gatedRegistry) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-g.held:
	case <-time.After(20 * time.Second):
		t.Fatal("no held blob request arrived")
	}
}

// countingStreams is a Streams that counts, for tests.
type countingStreams struct {
	active atomic.Int64
	bytes  atomic.Int64
	ended  chan struct{}
}

func newCountingStreams() *countingStreams { return &countingStreams{ended: make(chan struct{}, 64)} }

func (s *countingStreams) Start() func() {
	s.active.Add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			s.active.Add(-1)
			s.ended <- struct{}{}
		})
	}
}

func (s *countingStreams) Add(n int64) { s.bytes.Add(n) }

// getCtx sends GET url with ctx, without a token (newAPI's access control
// lets anonymous callers pull), and returns the response unread.
func getCtx(t *testing.T, ctx context.Context, c *http.Client, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res
}
