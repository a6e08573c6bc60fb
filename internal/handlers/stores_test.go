package handlers

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// countingStores records StoreMetrics calls by store name.
type countingStores struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingStores) Evicted(store string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[store]++
}

// Each bounded store of the HTTP layer reports its evictions, and only
// them, under the name telemetry's regapi_store_evictions_total knows
// (internal/telemetry/stores.go).
func TestStoreEvictionsCounted(t *testing.T) {
	c := &countingStores{n: map[string]int{}}

	answers := newAnswerMemo(evictedFunc(c, storeAnswerMemo))
	body := make([]byte, 4<<10)
	const puts = 3000 // 12 MiB of answers for an 8 MiB memo
	for i := range puts {
		answers.put(fmt.Sprint("k", i), &memoAnswer{body: body})
	}
	answers.put("k2999", &memoAnswer{body: body}) // a replacement is no eviction

	summaries := newSummaryMemo(evictedFunc(c, storeImageSummaries))
	for i := range summaryEntries + 7 {
		summaries.put(fmt.Sprint("k", i), &imageSummary{digest: "sha256:x"})
	}

	clients := newScopedClients(evictedFunc(c, storeScopedClients))
	up := Upstream{Name: "a", Client: clientFor("127.0.0.1:1", nil)}
	for i := range scopedEntries + 3 {
		repo := fmt.Sprint("r", i)
		clients.get(up, repo, func() []string { return strings.Split(repo, "/") })
	}

	want := map[string]int{
		"answer_memo":     puts - answers.lru.Len(),
		"image_summaries": 7,
		"scoped_clients":  3,
	}
	if want["answer_memo"] <= 0 {
		t.Fatalf("the answer memo kept all %d answers; the test must overfill it", puts)
	}
	for store, n := range want {
		if c.n[store] != n {
			t.Errorf("evictions of %s = %d, want %d", store, c.n[store], n)
		}
	}
	if len(c.n) != len(want) {
		t.Errorf("evictions counted under %v, want only %v", c.n, want)
	}
	if f := evictedFunc(nil, storeAnswerMemo); f != nil {
		t.Error("evictedFunc(nil) returned a callback")
	}
}
