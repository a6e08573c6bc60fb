package cache

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/regapi/regapi/internal/registry"
)

// bigTagsClient answers every ListTags with one fresh tag of size bytes, so
// that each repository's answer is a large, separately allocated entry.
type bigTagsClient struct {
	*fakeClient
	size int
}

func (c *bigTagsClient) WithSegment(segments ...string) registry.Client {
	return &bigTagsClient{fakeClient: c.fakeClient.WithSegment(segments...).(*fakeClient), size: c.size}
}

func (c *bigTagsClient) ListTags(context.Context, ...registry.ListTagsOption) ([]string, error) {
	return []string{strings.Repeat("t", c.size)}, nil
}

// TestHeapStaysWithinBudget pushes far more than the budget through the
// cache and measures the live heap after a collection: the estimate of each
// entry's size must be honest enough that the budget bounds real memory,
// for large entries (10k of 32 KiB, about 320 MiB, through 16 MiB) and for
// tiny ones, where bookkeeping dominates.
func TestHeapStaysWithinBudget(t *testing.T) {
	tests := []struct {
		name    string
		budget  int64
		entries int
		size    int
	}{
		{"10k large", 16 << 20, 10_000, 32 << 10},
		{"tiny", 4 << 20, 40_000, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Slack for what is not the cache's: the fake upstream and the
			// allocator's partly used spans.
			slack := tt.budget/4 + 2<<20
			c, err := New(WithMaxBytes(tt.budget), WithMaxEntryBytes(max(2*int64(tt.size), 4096)))
			if err != nil {
				t.Fatal(err)
			}
			hub := c.Wrap("hub", &bigTagsClient{fakeClient: &fakeClient{up: newFakeUpstream()}, size: tt.size})
			ctx := context.Background()

			before := liveHeap()
			for i := range tt.entries {
				if _, err := hub.WithSegment(fmt.Sprintf("org/repo%d", i)).ListTags(ctx); err != nil {
					t.Fatal(err)
				}
			}
			after := liveHeap()
			n, bytes := c.Len()
			grown := int64(after) - int64(before) //nolint:gosec // G115: heap sizes are far below 2^63
			t.Logf("%d entries of %d bytes pushed, %d held, %d estimated bytes; live heap grew %.1f MiB (budget %.1f MiB)",
				tt.entries, tt.size, n, bytes, float64(grown)/(1<<20), float64(tt.budget)/(1<<20))
			if bytes > tt.budget {
				t.Errorf("estimated bytes = %d, want <= %d", bytes, tt.budget)
			}
			if n >= tt.entries {
				t.Errorf("entries held = %d, want evictions (fewer than %d)", n, tt.entries)
			}
			if grown > tt.budget+slack {
				t.Errorf("live heap grew %d bytes, want <= %d (budget %d + slack)", grown, tt.budget+slack, tt.budget)
			}
			runtime.KeepAlive(c)
		})
	}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
