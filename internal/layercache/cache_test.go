package layercache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/regapi/regapi/internal/layercache/layercachetest"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// world is a real registry holding one random image, and that image's
// layers as a registry client sees them (each read is a blob GET).
type world struct {
	reg     *registrytest.Registry
	layers  []v1.Layer
	plain   [][]byte // each layer's uncompressed tar
	digests []string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	reg := registrytest.StartDistribution(t, nil)
	registrytest.Push(t, reg.Host+"/cache/img:v1", registrytest.RandomImage(t, 3))
	ref, err := name.ParseReference(reg.Host+"/cache/img:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	rimg, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := rimg.Layers()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{reg: reg, layers: ls}
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		w.digests = append(w.digests, d.String())
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		if err := rc.Close(); err != nil {
			t.Error(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.plain = append(w.plain, b)
	}
	reg.ResetRequests()
	return w
}

// blobGets counts the layer downloads (the config blob, which DiffID
// reads, is not one).
func (w *world) blobGets() int {
	n := 0
	for _, d := range w.digests {
		n += w.reg.CountRequests("GET", "/v2/cache/img/blobs/"+d)
	}
	return n
}

func readAll(t *testing.T, f *os.File) []byte {
	t.Helper()
	defer func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keepAll opens every layer through c once, so that c keeps them.
func keepAll(t *testing.T, c *Cache, layers []v1.Layer) {
	t.Helper()
	for _, l := range layers {
		f, err := c.Open(context.Background(), "up", l)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}
}

// dirBytes sums the sizes of the files below dir.
func dirBytes(t *testing.T, dir string) (total int64, files int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total, files
}

// TestOpenFillsOnceThenHits: the first read downloads the layer and keeps
// its tar; later reads, concurrent first reads included, download nothing.
func TestOpenFillsOnceThenHits(t *testing.T) {
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	c, err := New(t.TempDir(), 1<<30, WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := c.Open(ctx, "up", w.layers[0])
			if err != nil {
				t.Error(err)
				return
			}
			if got := readAll(t, f); !bytes.Equal(got, w.plain[0]) {
				t.Error("a concurrent first read got other bytes than the layer's tar")
			}
		}()
	}
	wg.Wait()
	if n := w.blobGets(); n != 1 {
		t.Errorf("16 concurrent first reads made %d blob GETs, want 1", n)
	}
	for range 3 {
		f, err := c.Open(ctx, "up", w.layers[0])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(readAll(t, f), w.plain[0]) {
			t.Error("a repeat read got other bytes than the layer's tar")
		}
	}
	if n := w.blobGets(); n != 1 {
		t.Errorf("after 3 repeat reads: %d blob GETs, want 1", n)
	}
	if got := testutil.ToFloat64(c.o.metrics.filledBytes); got != float64(len(w.plain[0])) {
		t.Errorf("filled bytes = %v, want %d", got, len(w.plain[0]))
	}
}

// TestRestartKeepsLayersAndCatchesDamage: a new Cache on the same directory
// serves what the last one kept without downloading; a kept file damaged on
// disk is noticed at its first use, removed and fetched again.
func TestRestartKeepsLayersAndCatchesDamage(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	ctx := context.Background()
	c, err := New(dir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	keepAll(t, c, w.layers)
	fills := w.blobGets()
	// A fill a crash interrupted leaves a temporary file; a restart clears it.
	if err := os.WriteFile(filepath.Join(dir, "tmp", "fill-123"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	c2, err := New(dir, 1<<30, WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	if b, n := c2.Bytes(); n != len(w.layers) || b != total(w.plain) {
		t.Errorf("after restart: %d bytes in %d layers, want %d in %d", b, n, total(w.plain), len(w.layers))
	}
	if _, n := dirBytes(t, filepath.Join(dir, "tmp")); n != 0 {
		t.Errorf("after restart tmp/ holds %d files, want 0", n)
	}
	for i, l := range w.layers {
		f, err := c2.Open(ctx, "up", l)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(readAll(t, f), w.plain[i]) {
			t.Errorf("layer %d after restart: other bytes", i)
		}
	}
	if n := w.blobGets(); n != fills {
		t.Errorf("a warm restart made %d blob GETs, want 0", n-fills)
	}

	// Damage one kept file (same size), restart, read it.
	d, _ := w.layers[0].DiffID()
	path := filepath.Join(dir, "blobs", "sha256", d.Hex)
	damaged := append([]byte(nil), w.plain[0]...)
	damaged[len(damaged)/2] ^= 0xff
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	reg3 := prometheus.NewRegistry()
	c3, err := New(dir, 1<<30, WithRegisterer(reg3))
	if err != nil {
		t.Fatal(err)
	}
	f, err := c3.Open(ctx, "up", w.layers[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readAll(t, f), w.plain[0]) {
		t.Error("a damaged kept layer was served")
	}
	if n := w.blobGets() - fills; n != 1 {
		t.Errorf("the damaged layer was fetched %d times, want 1", n)
	}
	if got := testutil.ToFloat64(c3.o.metrics.corrupted); got != 1 {
		t.Errorf("corrupt_total = %v, want 1", got)
	}
}

func total(bs [][]byte) int64 {
	var n int64
	for _, b := range bs {
		n += int64(len(b))
	}
	return n
}

// TestBoundByBytes: the directory never holds more than the bound, with
// fills running concurrently; the least recently used layers go first, and
// a layer larger than the bound is not kept.
func TestBoundByBytes(t *testing.T) {
	w := newWorld(t)
	sizes := make([]int64, len(w.plain))
	for i, b := range w.plain {
		sizes[i] = int64(len(b))
	}
	// Room for the largest two layers, not for all three.
	max := total(w.plain) - minOf(sizes) + 1
	dir := t.TempDir()
	c, err := New(dir, max)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for round := range 4 {
		for i, l := range w.layers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, err := c.Open(ctx, "up", l)
				if err != nil {
					// Out of room while others fill: the caller reads the
					// registry instead.
					if !errors.Is(err, errTooLarge) {
						t.Errorf("round %d layer %d: %v", round, i, err)
					}
					return
				}
				if err := f.Close(); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if b, _ := dirBytes(t, filepath.Join(dir, "blobs")); b > max {
			t.Fatalf("round %d: the directory holds %d bytes, over the bound %d", round, b, max)
		}
		if b, _ := c.Bytes(); b > max {
			t.Fatalf("round %d: the cache counts %d bytes, over the bound %d", round, b, max)
		}
	}

	// Sequentially: 0, 1, then 2 evicts 0 (the least recently used).
	c2, err := New(t.TempDir(), sizes[0]+sizes[1]+sizes[2]-1)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 2} {
		f, err := c2.Open(ctx, "up", w.layers[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}
	d0, _ := w.layers[0].DiffID()
	if _, ok := c2.lookup(d0.Hex); ok {
		t.Error("the least recently used layer was kept past the bound")
	}

	small, err := New(t.TempDir(), minOf(sizes)-1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.Open(ctx, "up", w.layers[0]); !errors.Is(err, errTooLarge) {
		t.Errorf("a layer larger than the cache: %v, want errTooLarge", err)
	}
	if b, n := small.Bytes(); b != 0 || n != 0 {
		t.Errorf("after a layer too large: %d bytes in %d layers, want none", b, n)
	}
}

func minOf(s []int64) int64 {
	m := s[0]
	for _, v := range s[1:] {
		m = min(m, v)
	}
	return m
}

// TestDiskFullMidWrite: a fill that meets a full disk leaves no file behind,
// counts the failure and says so in the log; the caller falls back.
func TestDiskFullMidWrite(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	var log strings.Builder
	c, err := New(dir, 1<<30, WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	if err != nil {
		t.Fatal(err)
	}
	c.o.metrics = &metrics{diskErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})}
	c.o.create = func(dir string) (TempFile, error) {
		return layercachetest.NewFullDisk(dir, 1000)
	}
	if _, err := c.Open(context.Background(), "up", w.layers[0]); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Open on a full disk = %v, want ENOSPC", err)
	}
	if b, n := dirBytes(t, dir); n != 0 {
		t.Errorf("a failed fill left %d files (%d bytes)", n, b)
	}
	if b, n := c.Bytes(); b != 0 || n != 0 {
		t.Errorf("after a failed fill the cache counts %d bytes in %d layers", b, n)
	}
	if got := testutil.ToFloat64(c.o.metrics.diskErrors); got != 1 {
		t.Errorf("disk_errors_total = %v, want 1", got)
	}
	if !strings.Contains(log.String(), "disk failure") {
		t.Errorf("no warning logged: %q", log.String())
	}
}

// noDiffID is a layer whose DiffID cannot be had (for a remote layer: the
// image config cannot be fetched).
type noDiffID struct{ v1.Layer }

func (noDiffID) DiffID() (v1.Hash, error) { return v1.Hash{}, errors.New("no config here") }

// TestDigestLinksSurviveRestart: once a layer was kept, the cache finds it
// by the digest manifests name, without its DiffID, in a new process too;
// a link to a layer gone from disk is dropped at the restart.
func TestDigestLinksSurviveRestart(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	ctx := context.Background()
	c, err := New(dir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	keepAll(t, c, w.layers)
	if _, err := c.Open(ctx, "up", noDiffID{w.layers[0]}); err != nil {
		t.Errorf("Open by digest alone = %v, want the kept layer", err)
	}
	// One layer file goes missing while no process runs.
	diff, err := w.layers[2].DiffID()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "blobs", "sha256", diff.Hex)); err != nil {
		t.Fatal(err)
	}
	c2, err := New(dir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	w.reg.ResetRequests()
	for i, l := range w.layers[:2] {
		f, err := c2.Open(ctx, "up", noDiffID{l})
		if err != nil {
			t.Fatalf("layer %d after restart, by digest alone: %v", i, err)
		}
		if !bytes.Equal(readAll(t, f), w.plain[i]) {
			t.Errorf("layer %d after restart: other bytes", i)
		}
	}
	if n := w.reg.CountRequests("GET", "/v2/"); n != 0 {
		t.Errorf("opening kept layers by digest made %d requests, want 0", n)
	}
	// The layer whose file is gone is downloaded again, by its digest.
	f, err := c2.Open(ctx, "up", noDiffID{w.layers[2]})
	if err != nil {
		t.Fatalf("the layer whose file is gone: %v", err)
	}
	if !bytes.Equal(readAll(t, f), w.plain[2]) {
		t.Error("the layer whose file is gone, fetched again: other bytes")
	}
	d2, err := w.layers[2].Digest()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "digests", "sha256", d2.Hex)); !os.IsNotExist(err) {
		t.Errorf("the link to a layer gone from disk is still there: %v", err)
	}
}

// gate holds a fill's reads of a layer's tar past its first at bytes until
// open is closed: a download still under way.
type gate struct {
	at   int64
	open chan struct{}
}

// opener is WithOpener for layers read through the gate.
func (g *gate) opener() Option {
	return WithOpener(func(_ context.Context, l v1.Layer) (io.ReadCloser, error) {
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, err
		}
		return &gatedReader{rc: rc, g: g}, nil
	})
}

type gatedReader struct {
	rc io.ReadCloser
	g  *gate
	n  int64
}

func (r *gatedReader) Read(p []byte) (int, error) {
	if r.n >= r.g.at {
		<-r.g.open
	} else if left := r.g.at - r.n; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := r.rc.Read(p)
	r.n += int64(n)
	return n, err
}

func (r *gatedReader) Close() error { return r.rc.Close() }

// TestFirstReadFollowsTheFill: the first read of a layer gets its first
// bytes while the download is still under way, a concurrent read follows
// the same fill (one download), and both end with the whole tar, kept.
func TestFirstReadFollowsTheFill(t *testing.T) {
	w := newWorld(t)
	g := &gate{at: 1024, open: make(chan struct{})}
	c, err := New(t.TempDir(), 1<<30, g.opener())
	if err != nil {
		t.Fatal(err)
	}
	l := w.layers[0]
	ctx := context.Background()
	first, ok := c.Layer(ctx, "up", l).(interface{ OpenPlain() (PlainFile, bool) }).OpenPlain()
	if !ok {
		t.Fatal("OpenPlain on a miss = false, want a fill to follow")
	}
	head := make([]byte, 512)
	if _, err := io.ReadFull(first, head); err != nil {
		t.Fatalf("reading the first bytes while the download is held: %v", err)
	}
	if !bytes.Equal(head, w.plain[0][:512]) {
		t.Error("the first bytes differ from the layer's tar")
	}
	second, ok := c.Layer(ctx, "up", l).(interface{ OpenPlain() (PlainFile, bool) }).OpenPlain()
	if !ok {
		t.Fatal("a concurrent OpenPlain = false")
	}
	close(g.open)
	rest, err := io.ReadAll(first)
	if err != nil || !bytes.Equal(append(head, rest...), w.plain[0]) {
		t.Errorf("the first reader got %d bytes (%v), want the layer's %d", 512+len(rest), err, len(w.plain[0]))
	}
	all, err := io.ReadAll(second)
	if err != nil || !bytes.Equal(all, w.plain[0]) {
		t.Errorf("the second reader got %d bytes (%v), want the layer's %d", len(all), err, len(w.plain[0]))
	}
	for _, r := range []PlainFile{first, second} {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}
	if n := w.blobGets(); n != 1 {
		t.Errorf("two readers of one fill made %d blob GETs, want 1", n)
	}
	d, _ := w.layers[0].DiffID()
	if _, ok := c.lookup(d.Hex); !ok {
		t.Error("the layer is not kept after its fill")
	}
}

// TestAbandonedFillLeavesNothing: when the last reader of a fill goes
// before its end, the fill stops and leaves no file and no bytes counted.
func TestAbandonedFillLeavesNothing(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	g := &gate{at: 1024, open: make(chan struct{})}
	c, err := New(dir, 1<<30, g.opener())
	if err != nil {
		t.Fatal(err)
	}
	r, ok := c.Layer(context.Background(), "up", w.layers[1]).(interface{ OpenPlain() (PlainFile, bool) }).OpenPlain()
	if !ok {
		t.Fatal("OpenPlain on a miss = false")
	}
	d, _ := w.layers[1].Digest()
	c.mu.Lock()
	f := c.filling[blobKey("up", d.Hex)]
	c.mu.Unlock()
	if f == nil {
		t.Fatal("no fill under way")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	close(g.open) // the download goes on and meets the cancelled fill
	for {
		_, done, changed, err := f.state()
		if done {
			if !errors.Is(err, errAbandoned) && err == nil {
				t.Errorf("the abandoned fill ended with %v", err)
			}
			break
		}
		<-changed
	}
	if _, n := dirBytes(t, filepath.Join(dir, "tmp")); n != 0 {
		t.Errorf("an abandoned fill left %d files", n)
	}
	if b, n := c.Bytes(); b != 0 || n != 0 {
		t.Errorf("after an abandoned fill the cache counts %d bytes in %d layers", b, n)
	}
}

// TestFullDiskReadGoesOn: a reader of a fill that meets a full disk reads
// on from the registry and gets the whole tar.
func TestFullDiskReadGoesOn(t *testing.T) {
	w := newWorld(t)
	c, err := New(t.TempDir(), 1<<30, WithTempFiles(func(dir string) (TempFile, error) {
		return layercachetest.NewFullDisk(dir, 1000)
	}))
	if err != nil {
		t.Fatal(err)
	}
	r, ok := c.Layer(context.Background(), "up", w.layers[0]).(interface{ OpenPlain() (PlainFile, bool) }).OpenPlain()
	if !ok {
		t.Fatal("OpenPlain = false")
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}()
	all, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(all, w.plain[0]) {
		t.Errorf("read %d bytes (%v) through a full disk, want the layer's %d", len(all), err, len(w.plain[0]))
	}
	// And at an offset, as a file read from the index does.
	r2, ok := c.Layer(context.Background(), "up", w.layers[0]).(interface{ OpenPlain() (PlainFile, bool) }).OpenPlain()
	if !ok {
		t.Fatal("OpenPlain = false")
	}
	defer func() {
		if err := r2.Close(); err != nil {
			t.Error(err)
		}
	}()
	mid := make([]byte, 100)
	off := int64(len(w.plain[0]) / 2)
	if _, err := r2.ReadAt(mid, off); err != nil || !bytes.Equal(mid, w.plain[0][off:off+100]) {
		t.Errorf("ReadAt(%d) through a full disk = %v, other bytes than the layer's", off, err)
	}
}

// wrongDiffID is a layer whose image config names another DiffID, as
// some builders write (the blob's digest), or as an image that wants
// another image's kept layer would claim.
type wrongDiffID struct {
	v1.Layer
	diff v1.Hash
}

func (l wrongDiffID) DiffID() (v1.Hash, error) { return l.diff, nil }

// TestWrongDiffIDIsIgnored: what an image config says about a layer's
// DiffID changes nothing: the layer is kept under the hash of its own tar
// and found again by its digest.
func TestWrongDiffIDIsIgnored(t *testing.T) {
	w := newWorld(t)
	c, err := New(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := w.layers[0].Digest()
	l := c.Layer(context.Background(), "up", wrongDiffID{w.layers[0], d}).(interface{ OpenPlain() (PlainFile, bool) })
	for round := range 2 {
		r, ok := l.OpenPlain()
		if !ok {
			t.Fatalf("round %d: OpenPlain = false", round)
		}
		all, err := io.ReadAll(r)
		if cerr := r.Close(); cerr != nil {
			t.Error(cerr)
		}
		if err != nil || !bytes.Equal(all, w.plain[0]) {
			t.Errorf("round %d: read %d bytes (%v), want the layer's %d", round, len(all), err, len(w.plain[0]))
		}
	}
	if n := w.blobGets(); n != 1 {
		t.Errorf("%d blob GETs, want 1 (the second read from disk)", n)
	}
}

// TestForgedDiffIDGetsNothing: an image whose config claims the DiffID of
// a kept layer, for a blob of its own, reads its own blob: the kept layer
// is reached only through the digest of a blob a verified fill wrote, so
// claiming a layer's DiffID neither reads it nor relinks it.
func TestForgedDiffIDGetsNothing(t *testing.T) {
	w := newWorld(t)
	c, err := New(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	secret, err := c.Open(ctx, "up", w.layers[0])
	if err != nil {
		t.Fatal(err)
	}
	_ = secret.Close() // read-only
	diff, _ := w.layers[0].DiffID()
	forged := c.Layer(ctx, "up", wrongDiffID{w.layers[1], diff}).(interface{ OpenPlain() (PlainFile, bool) })
	for round := range 2 {
		r, ok := forged.OpenPlain()
		if !ok {
			t.Fatalf("round %d: OpenPlain = false", round)
		}
		all, err := io.ReadAll(r)
		_ = r.Close() // read-only
		if err != nil || !bytes.Equal(all, w.plain[1]) {
			t.Errorf("round %d: the forged layer read %d bytes (%v): want its own blob's tar, never the kept layer's", round, len(all), err)
		}
	}
	again, err := c.Open(ctx, "up", w.layers[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readAll(t, again), w.plain[0]) {
		t.Error("the kept layer changed after a forged claim")
	}
}

// TestUpstreamsKeptApart: a layer kept from one upstream is not served for
// the same digest named by another: that one downloads it from its own
// registry (a hostile registry that knows a digest gets nothing for it).
func TestUpstreamsKeptApart(t *testing.T) {
	w := newWorld(t)
	c, err := New(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ns := range []string{"a", "a", "b"} {
		f, err := c.Open(ctx, ns, w.layers[0])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(readAll(t, f), w.plain[0]) {
			t.Errorf("upstream %s: other bytes", ns)
		}
	}
	if n := w.blobGets(); n != 2 {
		t.Errorf("%d blob GETs for a, a, b, want 2 (one per upstream)", n)
	}
	if b, n := c.Bytes(); n != 1 || b != int64(len(w.plain[0])) {
		t.Errorf("the cache holds %d bytes in %d layers, want the one tar once", b, n)
	}
}
