package extract

import (
	"context"
	"crypto/sha256"
	"testing"
)

// TestFlattenMemoryIsFlat flattens a 128 MiB image into a hashing writer
// (slower than decompression, so the prefetch buffers fill) and bounds the
// heap growth: the prefetch budget, the head's few chunks, the decoders and
// the name set, far below the image's size.
func TestFlattenMemoryIsFlat(t *testing.T) {
	bi := makeBenchImage(t, 4, 32<<20)
	const budget = 16 << 20
	h := sha256.New()
	peak, err := peakHeap(func() error {
		return Flatten(context.Background(), h, bi.layers, WithPrefetchBytes(budget), WithPrefetchLayers(3))
	})
	if err != nil {
		t.Fatalf("Flatten() = %v", err)
	}
	const limit = budget + 24<<20
	if peak > limit {
		t.Errorf("peak heap growth while flattening %d MiB = %d MiB, want at most %d MiB",
			bi.outBytes>>20, peak>>20, limit>>20)
	}
	t.Logf("flattened %d MiB (%d MiB compressed) with peak heap growth %d MiB", bi.outBytes>>20, bi.compressed>>20, peak>>20)
}
