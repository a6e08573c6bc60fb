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
			f, err := c.Open(ctx, w.layers[0])
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
		f, err := c.Open(ctx, w.layers[0])
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
	for _, l := range w.layers {
		f, err := c.Open(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}
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
		f, err := c2.Open(ctx, l)
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
	f, err := c3.Open(ctx, w.layers[0])
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
				f, err := c.Open(ctx, l)
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
		if b, _ := dirBytes(t, dir); b > max {
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
		f, err := c2.Open(ctx, w.layers[i])
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
	if _, err := small.Open(ctx, w.layers[0]); !errors.Is(err, errTooLarge) {
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

// fullDisk is a temporary file on a disk that fills up after room bytes.
type fullDisk struct {
	*os.File
	room int
}

func (f *fullDisk) Write(p []byte) (int, error) {
	if len(p) > f.room {
		n, _ := f.File.Write(p[:f.room])
		f.room = 0
		return n, syscall.ENOSPC
	}
	f.room -= len(p)
	return f.File.Write(p)
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
	c.o.create = func(dir string) (tempFile, error) {
		f, err := os.CreateTemp(dir, "fill-*")
		return &fullDisk{File: f, room: 1000}, err
	}
	if _, err := c.Open(context.Background(), w.layers[0]); !errors.Is(err, syscall.ENOSPC) {
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
