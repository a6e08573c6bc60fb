package extract

import (
	"context"
	"crypto/sha256"
	"hash"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// TestFlattenMemoryIsFlat flattens a 64 MiB image into a writer that hashes
// everything several times (slower than decompression, so the prefetch
// buffers fill; with the budget lifted the test fails) and bounds the
// heap growth: the prefetch budget, the head's few chunks, the decoders and
// the name set, far below the image's size.
func TestFlattenMemoryIsFlat(t *testing.T) {
	bi := makeBenchImage(t, 4, 16<<20, gzip.BestSpeed)
	const budget = 16 << 20
	h := &countWriter{}
	slow := slowWriter{sha256.New()}
	peak, err := peakHeap(func() error {
		return Flatten(context.Background(), io.MultiWriter(h, slow), bi.layers, WithPrefetchBytes(budget), WithPrefetchLayers(3))
	})
	if err != nil {
		t.Fatalf("Flatten() = %v", err)
	}
	const limit = budget + 12<<20 // the head's chunks, decoders, names, and GC slack
	if peak > limit {
		t.Errorf("peak heap growth while flattening %d MiB = %d MiB, want at most %d MiB",
			h.n>>20, peak>>20, limit>>20)
	}
	t.Logf("flattened %d MiB (%d MiB compressed) with peak heap growth %d MiB", h.n>>20, bi.compressed>>20, peak>>20)
}

// slowWriter hashes what it is given several times over.
type slowWriter struct{ h hash.Hash }

func (s slowWriter) Write(p []byte) (int, error) {
	for range 6 {
		s.h.Write(p)
	}
	return len(p), nil
}
