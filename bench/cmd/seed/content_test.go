package main

import (
	"archive/tar"
	"errors"
	"io"
	"testing"
)

// TestBuildLayerDeterministic checks what the benchmark relies on: the same
// layer index gives the same bytes on every run, other indexes give other
// bytes, the tar is valid and the digests describe it.
func TestBuildLayerDeterministic(t *testing.T) {
	const size = 1 << 20
	a, err := buildLayer(3, size)
	if err != nil {
		t.Fatal(err)
	}
	b, err := buildLayer(3, size)
	if err != nil {
		t.Fatal(err)
	}
	c, err := buildLayer(4, size)
	if err != nil {
		t.Fatal(err)
	}
	if a.digest != b.digest || a.diffID != b.diffID {
		t.Errorf("buildLayer(3) twice = %s and %s, want equal digests", a.digest, b.digest)
	}
	if a.digest == c.digest {
		t.Errorf("buildLayer(3) and buildLayer(4) = %s both, want different digests", a.digest)
	}

	rc, err := a.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }() // read-only: reads report their errors
	tr := tar.NewReader(rc)
	var content int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("layer tar: %v", err)
		}
		content += hdr.Size
	}
	if content < size || content > size+1 {
		t.Errorf("layer file content = %d bytes, want %d", content, size)
	}
	// Like a real distribution image: compressible, but not trivially.
	if ratio := float64(a.uncompressed) / float64(len(a.compressed)); ratio < 1.8 || ratio > 4 {
		t.Errorf("compression ratio = %.2f, want 1.8 to 4", ratio)
	}
}

func TestLayerSizes(t *testing.T) {
	for _, tc := range []struct {
		total int64
		n     int
	}{{256 << 20, 8}, {1 << 30, 8}, {1000, 3}, {7, 1}} {
		sizes := layerSizes(tc.total, tc.n)
		var sum int64
		for i, s := range sizes {
			sum += s
			if i > 0 && s > sizes[i-1] {
				t.Errorf("layerSizes(%d, %d) = %v, want non-increasing", tc.total, tc.n, sizes)
			}
		}
		if len(sizes) != tc.n || sum != tc.total {
			t.Errorf("layerSizes(%d, %d) = %v (sum %d), want %d sizes summing to %d", tc.total, tc.n, sizes, sum, tc.n, tc.total)
		}
	}
}
