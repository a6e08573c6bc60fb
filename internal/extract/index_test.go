package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// buildIndex runs Flatten with WithIndex and returns the index.
func buildIndex(tb testing.TB, layers []v1.Layer, opts ...Option) *Index {
	tb.Helper()
	b := NewIndexBuilder(DefaultIndexBytes)
	if err := Flatten(context.Background(), io.Discard, layers, append(opts, WithIndex(b))...); err != nil {
		tb.Fatalf("Flatten(WithIndex) = %v", err)
	}
	ix, err := b.Index()
	if err != nil {
		tb.Fatalf("Index() = %v", err)
	}
	return ix
}

// plainLayer is a layer kept on disk uncompressed, as the layer cache
// keeps them; opens counts the OpenPlain calls.
type plainLayer struct {
	v1.Layer
	file  string
	opens *atomic.Int32
}

func (l *plainLayer) OpenPlain() (PlainFile, bool) {
	l.opens.Add(1)
	f, err := os.Open(l.file)
	return f, err == nil
}

// onDisk wraps layers as plainLayers whose files hold their tars.
func onDisk(tb testing.TB, layers []v1.Layer) ([]v1.Layer, *atomic.Int32) {
	tb.Helper()
	dir := tb.TempDir()
	opens := new(atomic.Int32)
	var out []v1.Layer
	for i, l := range layers {
		rc, err := OpenPlain(context.Background(), l)
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		mustClose(tb, rc)
		if err != nil {
			tb.Fatal(err)
		}
		name := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(name, b, 0o600); err != nil {
			tb.Fatal(err)
		}
		out = append(out, &plainLayer{Layer: l, file: name, opens: opens})
	}
	return out, opens
}

// answer is what a lookup answered, body and error kind included.
type answer struct {
	Entry   *Entry
	Body    string
	ErrKind string
}

func errKind(err error) string {
	for _, k := range []error{ErrNotFound, ErrTooManyLinks, ErrTooLarge, ErrLimit, ErrNameLimit} {
		if errors.Is(err, k) {
			return k.Error()
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func answerOf(tb testing.TB, e *Entry, err error) answer {
	tb.Helper()
	if err != nil {
		return answer{ErrKind: errKind(err)}
	}
	a := answer{Entry: e}
	if e.Body != nil {
		b, err := io.ReadAll(e.Body)
		mustClose(tb, e)
		if err != nil {
			tb.Fatalf("read body of %s: %v", e.Path, err)
		}
		a.Body = string(b)
		cp := *e
		cp.Body = nil
		a.Entry = &cp
	}
	return a
}

// probePaths returns the paths worth asking an image built from specs:
// every name, its ancestors, names below it, link targets, and absent ones.
func probePaths(specs []layerSpec) []string {
	set := map[string]bool{"/": true, "/zz": true, "/a/zz": true, "/a/b/c/d": true, "/..": true, "/etc/../usr": true}
	add := func(n string) {
		c := path.Clean("/" + n)
		for ; c != "/"; c = path.Dir(c) {
			set[c] = true
		}
	}
	for _, s := range specs {
		for _, e := range s {
			add(e.name)
			add(e.name + "/a")
			add(strings.ReplaceAll(e.name, ".wh.", ""))
			if e.link != "" {
				add(e.link)
				add(path.Dir(e.name) + "/" + e.link)
			}
		}
	}
	var out []string
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// checkSameAnswers asks Lookup and the index every probe path of specs
// and fails on any difference.
func checkSameAnswers(t *testing.T, label string, specs []layerSpec, layers []v1.Layer, ix *Index, opts ...Option) int {
	t.Helper()
	n := 0
	for _, p := range probePaths(specs) {
		we, werr := Lookup(context.Background(), layers, p, opts...)
		want := answerOf(t, we, werr)
		ge, gerr := ix.Lookup(context.Background(), layers, p, opts...)
		got := answerOf(t, ge, gerr)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: index Lookup(%q) differs from Lookup (-Lookup +index):\n%s", label, p, diff)
		}
		n++
	}
	return n
}

// TestIndexLookupMatchesLookupRandom: on random images with whiteouts,
// opaque directories, hard and symbolic links, the index answers every
// path exactly as Lookup does: entry, listing, body and error kind.
func TestIndexLookupMatchesLookupRandom(t *testing.T) {
	kinds := map[string]int{}
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 16))
		specs := randomSpecs(r, seed%5 == 0)
		layers, _ := build(t, specs, nil)
		var opts []Option
		if seed%7 == 0 {
			opts = append(opts, WithMaxFileSize(int64(r.IntN(3000))))
		}
		ix := buildIndex(t, layers)
		label := fmt.Sprint("seed ", seed)
		if seed%2 == 1 {
			layers, _ = onDisk(t, layers)
			label += " (on disk)"
		}
		checkSameAnswers(t, label, specs, layers, ix, opts...)
		for _, p := range probePaths(specs) {
			e, err := Lookup(context.Background(), layers, p, opts...)
			if err != nil {
				kinds[errKind(err)]++
				continue
			}
			kinds[e.Type]++
			if e.Type == "dir" && len(e.Entries) > 0 {
				kinds["listing"]++
			}
			mustClose(t, e)
		}
	}
	// The comparison is only worth what the probes reach.
	for _, k := range []string{"file", "dir", "listing", "fifo", ErrNotFound.Error(), ErrTooManyLinks.Error(), ErrTooLarge.Error()} {
		if kinds[k] < 10 {
			t.Errorf("probes answered %q %d times, want at least 10 (all: %v)", k, kinds[k], kinds)
		}
	}
}

// TestIndexLookupMatchesLookupHandBuilt covers the hand-built images,
// whose cases were each written for one rule of the merge.
func TestIndexLookupMatchesLookupHandBuilt(t *testing.T) {
	images := append([]struct {
		name   string
		layers []layerSpec
	}{{"lookup image", lookupImage}}, handBuilt...)
	images = append(images, struct {
		name   string
		layers []layerSpec
	}{"ancestor link below a written target", []layerSpec{
		{symlink("a", "x"), dir("x"), file("x/b", "lower")},
		{dir("a"), file("a/b", "top")},
	}}, struct {
		name   string
		layers []layerSpec
	}{"whited-out target above a link ancestor", []layerSpec{
		{symlink("a", "x"), dir("x"), file("x/b", "lower")},
		{whiteout("a/.wh.b"), file("a/c", "c")},
	}}, struct {
		name   string
		layers []layerSpec
	}{"opaque target above a link ancestor", []layerSpec{
		{symlink("a", "x"), dir("x"), file("x/b", "lower"), file("x/b2/c", "deep")},
		{dir("a/b"), whiteout("a/b/.wh..wh..opq"), file("a/b/n", "n")},
	}})
	for _, img := range images {
		layers, _ := build(t, img.layers, nil)
		ix := buildIndex(t, layers)
		checkSameAnswers(t, img.name, img.layers, layers, ix)
	}
}

// TestIndexFileReadsOnlyItsLayer: from the index, a listing, a stat and a
// 404 open no layer; a file opens only its own, once; on disk, it is read
// from the file, not the blob.
func TestIndexFileReadsOnlyItsLayer(t *testing.T) {
	specs := []layerSpec{
		{dir("app"), file("app/base", strings.Repeat("b", 5000)), dir("data"), file("data/x", "x")},
		{file("app/mid", "m"), file("app/gone", "g")},
		{whiteout("app/.wh.gone"), symlink("app/link", "mid")},
		{dir("app"), file("app/version.json", `{"v":1}`)},
	}
	layers, opens := countingLayers(t, specs)
	ix := buildIndex(t, layers)
	reset := func() {
		for _, n := range opens {
			n.Store(0)
		}
	}
	got := func() []int32 {
		var g []int32
		for _, n := range opens {
			g = append(g, n.Load())
		}
		return g
	}
	tests := []struct {
		path      string
		wantOpens []int32
	}{
		{"/app", []int32{0, 0, 0, 0}},
		{"/app/gone", []int32{0, 0, 0, 0}},
		{"/nothing/here", []int32{0, 0, 0, 0}},
		{"/data/x/below", []int32{0, 0, 0, 0}},
		{"/app/link", []int32{0, 1, 0, 0}},
		{"/app/base", []int32{1, 0, 0, 0}},
		{"/app/version.json", []int32{0, 0, 0, 1}},
	}
	for _, tc := range tests {
		reset()
		e, err := ix.Lookup(context.Background(), layers, tc.path)
		if err == nil {
			mustClose(t, e)
		}
		if diff := cmp.Diff(tc.wantOpens, got()); diff != "" {
			t.Errorf("index Lookup(%q) layer opens, base first (-want +got):\n%s", tc.path, diff)
		}
	}

	disk, plainOpens := onDisk(t, layers)
	reset()
	e, err := ix.Lookup(context.Background(), disk, "/app/base")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(e.Body)
	mustClose(t, e)
	if err != nil || string(body) != strings.Repeat("b", 5000) {
		t.Errorf("index Lookup(/app/base) on disk = %d bytes, %v; want the 5000 bytes", len(body), err)
	}
	if n := plainOpens.Load(); n != 1 || !cmp.Equal(got(), []int32{0, 0, 0, 0}) {
		t.Errorf("on disk: %d file opens, blob opens %v; want 1 file open and no blob", n, got())
	}
}

// TestIndexBound: an index past its byte bound is abandoned, and Flatten
// writes the same tar as without one.
func TestIndexBound(t *testing.T) {
	layers, _ := build(t, lookupImage, nil)
	want, err := flatten(t, layers)
	if err != nil {
		t.Fatal(err)
	}
	b := NewIndexBuilder(1000)
	got, err := flatten(t, layers, WithIndex(b))
	if err != nil {
		t.Fatalf("Flatten(WithIndex, 1000 bytes) = %v", err)
	}
	assertSameTar(t, got, want)
	if _, err := b.Index(); !errors.Is(err, ErrNoIndex) {
		t.Errorf("Index() past the bound = %v, want ErrNoIndex", err)
	}
	ix := buildIndex(t, layers)
	if ix.Bytes() <= 1000 || ix.Bytes() > 64<<10 {
		t.Errorf("Bytes() = %d for %d names, want between 1000 and 64 KiB", ix.Bytes(), len(ix.nodes))
	}

	sub := NewIndexBuilder(DefaultIndexBytes)
	if _, err := flatten(t, layers, WithSubtree("/etc"), WithIndex(sub)); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Index(); !errors.Is(err, ErrNoIndex) {
		t.Errorf("Index() of a subtree Flatten = %v, want ErrNoIndex", err)
	}
	if _, err := ix.Lookup(context.Background(), layers[:1], "/etc"); err == nil {
		t.Error("index Lookup with the wrong number of layers succeeded")
	}
}

// TestFlattenReadsPlainFiles: layers kept on disk are read from their
// files, never their blobs, and give the same tar.
func TestFlattenReadsPlainFiles(t *testing.T) {
	layers, opens := countingLayers(t, lookupImage)
	want, err := flatten(t, layers)
	if err != nil {
		t.Fatal(err)
	}
	disk, plainOpens := onDisk(t, layers)
	for _, n := range opens {
		n.Store(0)
	}
	got, err := flatten(t, disk)
	if err != nil {
		t.Fatal(err)
	}
	assertSameTar(t, got, want)
	for i, n := range opens {
		if n.Load() != 0 {
			t.Errorf("layer %d: %d blob opens, want none", i, n.Load())
		}
	}
	if n := plainOpens.Load(); int(n) != len(layers) {
		t.Errorf("%d file opens, want %d", n, len(layers))
	}
}
