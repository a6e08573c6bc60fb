package extract

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestIndexRoundTrip: an index read back from its encoding answers every
// path of random images (whiteouts, opaque directories, links) as the
// index it was made from, and so as Lookup does.
func TestIndexRoundTrip(t *testing.T) {
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 61))
		specs := randomSpecs(r, seed%5 == 0)
		layers, _ := build(t, specs, nil)
		ix := buildIndex(t, layers)
		b, err := ix.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		back, err := UnmarshalIndex(b, DefaultIndexBytes)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if back.Bytes() != ix.Bytes() || back.Layers() != ix.Layers() {
			t.Errorf("seed %d: read back %d bytes, %d layers; want %d, %d", seed, back.Bytes(), back.Layers(), ix.Bytes(), ix.Layers())
		}
		checkSameAnswers(t, fmt.Sprint("seed ", seed, " read back"), specs, layers, back)
	}
}

// TestIndexDecodeRefusesDamage: a damaged, cut, padded or oversized
// encoding is ErrBadIndex, never a panic or a broken tree.
func TestIndexDecodeRefusesDamage(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	layers, _ := build(t, randomSpecs(r, false), nil)
	ix := buildIndex(t, layers)
	good, err := ix.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":        nil,
		"magic only":   indexMagic,
		"cut":          good[:len(good)/2],
		"padded":       append(append([]byte(nil), good...), 0),
		"other format": append([]byte("RGXI\x02"), good[len(indexMagic):]...),
	}
	for i := len(indexMagic); i < len(good); i += max(1, len(good)/50) {
		flipped := append([]byte(nil), good...)
		flipped[i] ^= 0x20
		cases[fmt.Sprint("byte ", i, " flipped")] = flipped
	}
	for name, b := range cases {
		if _, err := UnmarshalIndex(b, DefaultIndexBytes); !errors.Is(err, ErrBadIndex) {
			t.Errorf("%s: %v, want ErrBadIndex", name, err)
		}
	}
	// A forged value with a valid checksum: a node's opaque layer past the
	// last layer must be refused, not panic a lookup later.
	forged := *ix
	forged.nodes = append([]node(nil), ix.nodes...)
	forged.nodes[0].opaque = int32(ix.Layers() + 1000) //nolint:gosec // G115: a handful of layers
	fb, err := forged.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalIndex(fb, DefaultIndexBytes); !errors.Is(err, ErrBadIndex) {
		t.Errorf("a node opaque past the last layer: %v, want ErrBadIndex", err)
	}
	if _, err := UnmarshalIndex(good, ix.Bytes()-1); !errors.Is(err, ErrBadIndex) {
		t.Errorf("an index over the bound: %v, want ErrBadIndex", err)
	}
}

// FuzzUnmarshalIndex: whatever the bytes, reading them back never panics,
// and an index that reads back answers lookups without panicking.
func FuzzUnmarshalIndex(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 3))
	layers, _ := build(f, randomSpecs(r, false), nil)
	good, err := buildIndex(f, layers).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good[len(indexMagic)+sha256.Size:])
	f.Fuzz(func(t *testing.T, payload []byte) {
		// With a checksum that matches: what a writer of the shared tier
		// could send on purpose.
		sum := sha256.Sum256(payload)
		b := append(append(append([]byte(nil), indexMagic...), sum[:]...), payload...)
		ix, err := UnmarshalIndex(b, DefaultIndexBytes)
		if err != nil || ix.Layers() != len(layers) {
			return
		}
		for _, p := range []string{"/", "/a", "/a/b", "/etc/x"} {
			if e, err := ix.Lookup(context.Background(), layers, p); err == nil {
				_ = e.Close() // no body was read
			}
		}
	})
}
