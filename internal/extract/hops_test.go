package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// withRememberBytes sets Lookup's bound on remembered headers; zero makes
// every pass read every layer afresh, as a Lookup without memory would.
func withRememberBytes(n int64) Option {
	return func(o *options) error { o.rememberBytes = n; return nil }
}

// trackedBlob is a gzip layer that counts its opens, closes and the
// compressed bytes read from it.
type trackedBlob struct {
	blob
	opens, closes atomic.Int32
	read          atomic.Int64
}

func (b *trackedBlob) Compressed() (io.ReadCloser, error) {
	b.opens.Add(1)
	return &trackedReader{b: b, r: bytes.NewReader(b.b)}, nil
}

type trackedReader struct {
	b      *trackedBlob
	r      *bytes.Reader
	closed atomic.Bool
}

func (r *trackedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.b.read.Add(int64(n))
	return n, err
}

func (r *trackedReader) Close() error {
	if !r.closed.Swap(true) {
		r.b.closes.Add(1)
	}
	return nil
}

// trackedLayers builds gzip layers, base first.
func trackedLayers(tb testing.TB, specs []layerSpec) ([]v1.Layer, []*trackedBlob) {
	tb.Helper()
	var layers []v1.Layer
	var blobs []*trackedBlob
	for _, s := range specs {
		b := &trackedBlob{blob: blob{b: gzipBytes(tb, tarBytes(tb, s...)), mt: types.DockerLayer}}
		l, err := partial.CompressedToLayer(b)
		if err != nil {
			tb.Fatal(err)
		}
		layers = append(layers, l)
		blobs = append(blobs, b)
	}
	return layers, blobs
}

// noise is incompressible, so that a layer's compressed bytes read show how
// much of it was decompressed.
func noise(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32()) //nolint:gosec // G115: truncation is the point, any byte will do
	}
	return string(b)
}

func opensOf(blobs []*trackedBlob) []int32 {
	var out []int32
	for _, b := range blobs {
		out = append(out, b.opens.Load())
	}
	return out
}

// checkAllClosed fails unless every stream opened from blobs was closed.
func checkAllClosed(t *testing.T, blobs []*trackedBlob) {
	t.Helper()
	for i, b := range blobs {
		if o, c := b.opens.Load(), b.closes.Load(); o != c {
			t.Errorf("layer %d (base first): %d opens, %d closes", i, o, c)
		}
	}
}

// osReleaseSpecs is Debian's case: /etc/os-release links to
// ../usr/lib/os-release, both in the base layer. With linkFirst the link
// comes first in the tar (etc/ sorts before usr/), otherwise the file does.
func osReleaseSpecs(linkFirst bool) []layerSpec {
	link := []tent{dir("etc"), symlink("etc/os-release", "../usr/lib/os-release")}
	target := []tent{dir("usr"), dir("usr/lib"), file("usr/lib/os-release", "ID=debian\n")}
	filler := []tent{dir("opt"), file("opt/a", noise(1, 64<<10)), file("opt/b", noise(2, 64<<10))}
	base := append(append(append([]tent{}, link...), filler...), target...)
	if !linkFirst {
		base = append(append(append([]tent{}, target...), filler...), link...)
	}
	return []layerSpec{
		base,
		{dir("app"), file("app/x", noise(3, 16<<10))},
		{dir("etc"), file("etc/hostname", "h")},
	}
}

func TestLookupHopReadsLayersOnce(t *testing.T) {
	tests := []struct {
		name      string
		linkFirst bool
		opts      []Option
		wantOpens []int32 // base first
	}{
		// The base layer is read once: up to the link, then on to the file.
		{"link before file", true, nil, []int32{1, 1, 1}},
		// The file's bytes went by before the link: one reopen streams them.
		{"file before link", false, nil, []int32{2, 1, 1}},
		// Without memory every hop reads every layer again.
		{"link before file, nothing remembered", true, []Option{withRememberBytes(0)}, []int32{2, 2, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			layers, blobs := trackedLayers(t, osReleaseSpecs(tc.linkFirst))
			e, err := Lookup(context.Background(), layers, "/etc/os-release", tc.opts...)
			if err != nil {
				t.Fatalf("Lookup(/etc/os-release) = %v", err)
			}
			if diff := cmp.Diff(tc.wantOpens, opensOf(blobs)); diff != "" {
				t.Errorf("layer opens, base first (-want +got):\n%s", diff)
			}
			open := 0
			for _, b := range blobs {
				open += int(b.opens.Load() - b.closes.Load())
			}
			if open != 1 {
				t.Errorf("%d streams open before the entry is closed, want 1 (the body's)", open)
			}
			body, err := io.ReadAll(e.Body)
			if err != nil || string(body) != "ID=debian\n" || e.Path != "/usr/lib/os-release" {
				t.Errorf("Lookup(/etc/os-release) = %s %q, %v", e.Path, body, err)
			}
			mustClose(t, e)
			checkAllClosed(t, blobs)
			// Bytes: each upper layer read once; the base at most once per open.
			for i, b := range blobs {
				if got, limit := b.read.Load(), int64(b.opens.Load())*int64(len(b.b)); got > limit {
					t.Errorf("layer %d: read %d compressed bytes, want at most %d", i, got, limit)
				}
			}
		})
	}
}

// chainSpecs makes links l0 -> l1 -> ... -> l<n-1> -> target spread over
// three layers, each layer holding its links in shuffled order so that the
// hops go up and down the layers and back and forth within them; the target
// file is in the base layer, in the middle of it.
func chainSpecs(n int) []layerSpec {
	r := rand.New(rand.NewPCG(uint64(n), 3)) //nolint:gosec // G115: n is a small positive count
	specs := make([]layerSpec, 3)
	for i := range n {
		to := fmt.Sprintf("/d/l%d", i+1)
		if i == n-1 {
			to = "../target"
		}
		specs[i%3] = append(specs[i%3], symlink(fmt.Sprintf("d/l%d", i), to))
	}
	for i := range specs {
		r.Shuffle(len(specs[i]), func(a, b int) { specs[i][a], specs[i][b] = specs[i][b], specs[i][a] })
		specs[i] = append(layerSpec{dir("d")}, specs[i]...)
	}
	mid := len(specs[0]) / 2
	specs[0] = append(specs[0][:mid:mid], append(layerSpec{file("target", "end of the chain")}, specs[0][mid:]...)...)
	return specs
}

func TestLookupLinkChainOpensBounded(t *testing.T) {
	const maxOpensPerLayer = 2 // one read, plus one reopen for a body already passed
	for _, n := range []int{maxHops, maxHops + 1} {
		t.Run(fmt.Sprint(n, " links"), func(t *testing.T) {
			layers, blobs := trackedLayers(t, chainSpecs(n))
			e, err := Lookup(context.Background(), layers, "/d/l0")
			if n > maxHops {
				if !errors.Is(err, ErrTooManyLinks) {
					t.Fatalf("Lookup(/d/l0) over %d links = %v, want ErrTooManyLinks", n, err)
				}
			} else {
				if err != nil {
					t.Fatalf("Lookup(/d/l0) over %d links = %v", n, err)
				}
				body, err := io.ReadAll(e.Body)
				if err != nil || string(body) != "end of the chain" || e.Path != "/target" {
					t.Errorf("Lookup(/d/l0) = %s %q, %v", e.Path, body, err)
				}
				mustClose(t, e)
			}
			total := int32(0)
			for i, o := range opensOf(blobs) {
				total += o
				if o > maxOpensPerLayer {
					t.Errorf("layer %d (base first) opened %d times, want at most %d", i, o, maxOpensPerLayer)
				}
			}
			if int(total) > len(blobs)+1 {
				t.Errorf("%d layer opens in all, want at most %d", total, len(blobs)+1)
			}
			checkAllClosed(t, blobs)

			// The same lookup without memory reads the layers once per hop.
			layers, blobs = trackedLayers(t, chainSpecs(n))
			if e, err := Lookup(context.Background(), layers, "/d/l0", withRememberBytes(0)); err == nil {
				mustClose(t, e)
			}
			if o := blobs[len(blobs)-1].opens.Load(); o != maxHops+1 {
				t.Errorf("without memory the top layer was opened %d times, want %d", o, maxHops+1)
			}
		})
	}
}

// TestLookupRememberMatchesRereading checks that remembering changes nothing
// but the reading: on random images (links, hard links, whiteouts, opaque
// directories) every path gives the same entry, body and error with full
// memory, with a bound small enough to forget layers midway, and with none.
func TestLookupRememberMatchesRereading(t *testing.T) {
	type result struct {
		Entry *Entry
		Body  string
		Err   string
	}
	run := func(layers []v1.Layer, p string, opts ...Option) result {
		e, err := Lookup(context.Background(), layers, p, opts...)
		if err != nil {
			return result{Err: err.Error()}
		}
		var body []byte
		if e.Body != nil {
			body, err = io.ReadAll(e.Body)
			if err != nil {
				return result{Err: "body: " + err.Error()}
			}
		}
		mustClose(t, e)
		e.Body = nil
		return result{Entry: e, Body: string(body)}
	}
	hops, compared := 0, 0
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 11))
		specs := randomSpecs(r, false)
		layers, _ := build(t, specs, nil)
		paths := map[string]bool{"/": true, "/a/b/c": true, "/etc/usr": true}
		for _, s := range specs {
			for _, e := range s {
				n := strings.TrimSuffix(strings.TrimPrefix(e.name, "./"), "/")
				paths["/"+n] = true
				paths["/"+n+"/a"] = true
				if e.link != "" {
					hops++
				}
			}
		}
		for p := range paths {
			want := run(layers, p, withRememberBytes(0))
			for _, limit := range []int64{rememberBytes, 3 * headerCost, headerCost + 40} {
				got := run(layers, p, withRememberBytes(limit))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("seed %d: Lookup(%q) remembering %d bytes differs from rereading (-reread +remember):\n%s", seed, p, limit, diff)
				}
			}
			compared++
		}
	}
	t.Logf("compared %d lookups, %d links", compared, hops)
	if compared < 1000 || hops < 100 {
		t.Errorf("compared %d lookups in images with %d links, want at least 1000 and 100", compared, hops)
	}
}

// TestLookupCancelMidHop cancels while a later pass reads on in the layer an
// earlier pass stopped in: the call ends with context.Canceled and every
// stream is closed (goleak, in TestMain, checks the goroutines).
func TestLookupCancelMidHop(t *testing.T) {
	base := gzipBytes(t, tarBytes(t, symlink("a", "zz"), file("big", strings.Repeat("0123456789abcdef", (4<<20)/16)), file("zz", "z")))
	hang := newHanging(t, base)
	hangLayer, err := partial.CompressedToLayer(hang)
	if err != nil {
		t.Fatal(err)
	}
	top, blobs := trackedLayers(t, []layerSpec{{symlink("b", "a"), file("t", "t")}})
	layers := []v1.Layer{hangLayer, top[0]}
	cancelWhileHung(t, hang, "Lookup", func(ctx context.Context) error {
		_, err := Lookup(ctx, layers, "/b") // b -> a (base) -> zz, past the hanging half
		return err
	})
	if o := blobs[0].opens.Load(); o != 1 {
		t.Errorf("top layer opened %d times, want 1", o)
	}
	checkAllClosed(t, blobs)
}

// BenchmarkLookupSymlink looks up paths behind links, remembering what each
// pass read and, side by side, reading every layer again on every hop (the
// cost without memory). The base layer is 24 MiB of files.
func BenchmarkLookupSymlink(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	words := []byte("the quick brown fox jumps over the lazy dog lorem ipsum dolor sit amet ")
	body := func() string { // compresses about 2.5:1, like binaries
		var s []byte
		for len(s) < 8<<10 {
			off := r.IntN(len(words))
			s = append(s, words[off:]...)
			s = append(s, byte(r.Uint32()), byte(r.Uint32())) //nolint:gosec // G115: truncation is the point, any byte will do
		}
		return string(s)
	}
	base := layerSpec{dir("bin"), dir("etc"), symlink("etc/os-release", "../usr/lib/os-release")}
	for i := range 1500 {
		base = append(base, file(fmt.Sprintf("bin/f%04d", i), body()))
	}
	base = append(base, dir("usr"), dir("usr/lib"), file("usr/lib/os-release", "ID=debian\n"))
	for i := range 1500 {
		base = append(base, file(fmt.Sprintf("usr/lib/g%04d", i), body()))
	}
	var mid, top layerSpec
	for i := range 300 {
		mid = append(mid, file(fmt.Sprintf("app/m%03d", i), body()))
		top = append(top, file(fmt.Sprintf("srv/t%03d", i), body()))
	}
	// A chain of 8 links back and forth across the layers to the file.
	for i := range 8 {
		l := symlink(fmt.Sprintf("chain/c%d", i), fmt.Sprintf("/chain/c%d", i+1))
		if i == 7 {
			l = symlink("chain/c7", "/etc/os-release")
		}
		spec := []*layerSpec{&base, &mid, &top}[i%3]
		*spec = append(*spec, l)
	}
	layers, _ := trackedLayers(b, []layerSpec{base, mid, top})
	for _, p := range []string{"/etc/os-release", "/chain/c0"} {
		for _, mode := range []struct {
			name string
			opts []Option
		}{{"reread", []Option{withRememberBytes(0)}}, {"remember", nil}} {
			b.Run(strings.TrimPrefix(p, "/")+"/"+mode.name, func(b *testing.B) {
				for b.Loop() {
					e, err := Lookup(context.Background(), layers, p, mode.opts...)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, e.Body); err != nil {
						b.Fatal(err)
					}
					mustClose(b, e)
				}
			})
		}
	}
}
