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

// TestHeapStaysWithinBudget pushes 10k entries of 32 KiB (about 320 MiB)
// through a 16 MiB budget and measures the live heap after a collection:
// the estimate of each entry's size must be honest enough that the budget
// bounds real memory.
func TestHeapStaysWithinBudget(t *testing.T) {
	const (
		budget  = 16 << 20
		entries = 10_000
		size    = 32 << 10
		// Slack for what is not the cache's: the test's own goroutine,
		// the fake upstream and the allocator's partly used spans.
		slack = budget/4 + 4<<20
	)
	c, err := New(WithMaxBytes(budget), WithMaxEntryBytes(2*size))
	if err != nil {
		t.Fatal(err)
	}
	hub := c.Wrap("hub", &bigTagsClient{fakeClient: &fakeClient{up: newFakeUpstream()}, size: size})
	ctx := context.Background()

	before := liveHeap()
	for i := range entries {
		if _, err := hub.WithSegment(fmt.Sprintf("repo%d", i)).ListTags(ctx); err != nil {
			t.Fatal(err)
		}
	}
	after := liveHeap()
	n, bytes := c.Len()
	grown := int64(after) - int64(before)
	t.Logf("%d entries pushed, %d held, %d estimated bytes; live heap grew %.1f MiB (budget %d MiB)",
		entries, n, bytes, float64(grown)/(1<<20), budget>>20)
	if bytes > budget {
		t.Errorf("estimated bytes = %d, want <= %d", bytes, budget)
	}
	if n < budget/(2*size) {
		t.Errorf("entries held = %d, want the budget used (at least %d)", n, budget/(2*size))
	}
	if grown > budget+slack {
		t.Errorf("live heap grew %d bytes, want <= %d (budget %d + slack)", grown, budget+slack, budget)
	}
	runtime.KeepAlive(c)
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
