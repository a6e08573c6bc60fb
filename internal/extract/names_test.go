package extract

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/bombtest"
)

// heapBound is what a call may add to the heap while it reads a layer
// built to make an unbounded reader keep hundreds of MiB: the names it may
// keep (32 MiB by default), a few chunks and decoders, and GC slack.
const heapBound = 64 << 20

// pushedLayers serves a one-layer image of the gzip bytes b from an
// in-process registry and returns its layers as pulled back.
func pushedLayers(t *testing.T, b []byte) []v1.Layer {
	t.Helper()
	l, err := partial.CompressedToLayer(&bombBlob{blob{b: b, mt: types.DockerLayer}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	img, _ = pushed(t, img)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return layers
}

// bombBlob is a blob whose diff_id is taken to be its digest: the real one
// would cost decompressing hundreds of MB, and neither the registry nor
// extract reads it.
type bombBlob struct{ blob }

func (b *bombBlob) DiffID() (v1.Hash, error) { return b.Digest() }

// checkBounded runs call under bombtest.PeakHeap and checks its error and
// that the heap grew by at most bound bytes.
func checkBounded(t *testing.T, what string, wantErr error, bound uint64, call func() error) {
	t.Helper()
	peak, err := bombtest.PeakHeap(call)
	if !errors.Is(err, wantErr) {
		t.Errorf("%s = %v, want %v", what, err, wantErr)
	}
	if peak > bound {
		t.Errorf("%s: peak heap growth %d MiB, want at most %d MiB", what, peak>>20, bound>>20)
	}
}

// TestLongNamesRefused is the long-names attack: names of about 1 MB, in
// a layer that compresses about a thousandfold. An unbounded reader keeps
// every name; the limit refuses the first.
func TestLongNamesRefused(t *testing.T) {
	tests := []struct {
		name  string
		layer []byte
	}{
		{"path", bombtest.LongNames(t, 300, tar.TypeReg, "path", 1_000_000, true)}, // 300 MB of names
		{"link target", bombtest.LongNames(t, 300, tar.TypeSymlink, "linkpath", 1_000_000, true)},
		{"just over the limit", bombtest.LongNames(t, 300, tar.TypeReg, "path", maxNameLen+1, true)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			layers := pushedLayers(t, tc.layer)
			checkBounded(t, "Flatten()", ErrNameLimit, heapBound, func() error {
				return Flatten(context.Background(), io.Discard, layers)
			})
			for _, p := range []string{"/", "/missing"} {
				checkBounded(t, fmt.Sprintf("Lookup(%s)", p), ErrNameLimit, heapBound, func() error {
					_, err := Lookup(context.Background(), layers, p)
					return err
				})
			}
		})
	}
}

// TestNameAtTheLimit: a name of exactly maxNameLen bytes is an ordinary
// name.
func TestNameAtTheLimit(t *testing.T) {
	name := fmt.Sprintf("%0*d", maxNameLen, 7)
	layers := []v1.Layer{gzLayer(t, file(name, "x"), symlink("l", name))}
	got, err := flatten(t, layers)
	if err != nil {
		t.Fatalf("Flatten() = %v", err)
	}
	want, err := craneExport(t, layers)
	if err != nil {
		t.Fatal(err)
	}
	assertSameTar(t, got, want)
	e, err := Lookup(context.Background(), layers, "/l")
	if err != nil {
		t.Fatalf("Lookup(/l) = %v", err)
	}
	mustClose(t, e)
	if e.Path != "/"+name {
		t.Errorf("Lookup(/l).Path has %d bytes, want %d", len(e.Path), len(name)+1)
	}
}

// TestNamesKeptBudget: names each within the limit whose sum passes the
// per-call budget. Flatten keeps every name to apply whiteouts and
// shadowing to the layers below, and a listing of the root keeps every
// child; both stop at the budget.
func TestNamesKeptBudget(t *testing.T) {
	t.Run("past the budget", func(t *testing.T) {
		// 12,000 names of 4,000 bytes, 48 MB, against a budget of 1 MiB:
		// the default's 32 MiB would take many times longer to reach
		// under the race detector.
		layers := []v1.Layer{blobLayer(t, bombtest.LongNames(t, 12_000, tar.TypeReg, "path", 4000, true), types.DockerLayer, nil)}
		const budget, bound = 1 << 20, 24 << 20
		checkBounded(t, "Flatten()", ErrNameLimit, bound, func() error {
			return Flatten(context.Background(), io.Discard, layers, WithMaxNameBytes(budget))
		})
		checkBounded(t, "Lookup(/)", ErrNameLimit, bound, func() error {
			_, err := Lookup(context.Background(), layers, "/", WithMaxNameBytes(budget))
			return err
		})
	})
	t.Run("option", func(t *testing.T) {
		var entries []tent
		for i := range 1000 {
			entries = append(entries, file(fmt.Sprintf("d/%04d", i), ""))
		}
		layers := []v1.Layer{gzLayer(t, entries...)}
		// Each kept name costs its bytes and keptEntryCost; the listing
		// keeps "d" and each child, Flatten "d/NNNN" names.
		tests := []struct {
			budget  int64
			wantErr error
		}{
			{1000 * (6 + keptEntryCost), nil},
			{999 * (6 + keptEntryCost), ErrNameLimit},
		}
		for _, tc := range tests {
			err := Flatten(context.Background(), io.Discard, layers, WithMaxNameBytes(tc.budget))
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Flatten(WithMaxNameBytes(%d)) = %v, want %v", tc.budget, err, tc.wantErr)
			}
		}
		if _, err := Lookup(context.Background(), layers, "/d", WithMaxNameBytes(100*keptEntryCost)); !errors.Is(err, ErrNameLimit) {
			t.Errorf("Lookup(/d) of 1000 children with room for 100 = %v, want ErrNameLimit", err)
		}
		if e, err := Lookup(context.Background(), layers, "/d/0999", WithMaxNameBytes(100*keptEntryCost)); err != nil {
			t.Errorf("Lookup(/d/0999), which keeps no siblings = %v, want the file", err)
		} else {
			mustClose(t, e)
		}
		if err := WithMaxNameBytes(0)(&options{}); err == nil {
			t.Error("WithMaxNameBytes(0) = nil, want an error")
		}
	})
}

// TestLargeRecordsNotKept: short directory names in headers that carry a large PAX
// record. archive/tar hands the name out as a substring of the whole PAX
// block, so a name kept as it is keeps the block too; kept names must be
// copies.
func TestLargeRecordsNotKept(t *testing.T) {
	// Names kept as substrings would keep 128 MB of records; the bound
	// leaves room for what a busy machine's collector has not freed yet
	// (under load, 64 records of 1 MB can leave 33 MiB in the heap).
	const n, bound = 128, 48 << 20
	pad := strings.Repeat("x", 1_000_000) // 128 MB of records
	layers := pushedLayers(t, bombtest.PAX(t, n, tar.TypeDir, func(i int) []bombtest.Record {
		return []bombtest.Record{{Key: "SCHILY.xattr.user.pad", Value: pad}, {Key: "path", Value: fmt.Sprintf("d%04d/", i)}}
	}, true))
	checkBounded(t, "Flatten()", nil, bound, func() error {
		return Flatten(context.Background(), io.Discard, layers)
	})
	var e *Entry
	checkBounded(t, "Lookup(/)", nil, bound, func() (err error) {
		e, err = Lookup(context.Background(), layers, "/")
		return err
	})
	if e != nil && len(e.Entries) != n {
		t.Errorf("Lookup(/) lists %d entries, want %d", len(e.Entries), n)
	}
}
