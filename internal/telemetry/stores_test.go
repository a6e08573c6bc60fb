package telemetry

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestStoresEvictions(t *testing.T) {
	s := newStores()
	s.Evicted(StoreAnswerMemo)
	s.Evicted(StoreAnswerMemo)
	s.Evicted(StoreScopedClients)
	s.Evicted("a-raw-path/that/must/not/become/a/label") // counted as other
	var dropped atomic.Uint64
	dropped.Store(5)
	s.Watch(StoreExtractChunks, dropped.Load)
	s.Evicted(StoreExtractChunks)

	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(s); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP regapi_store_evictions_total Values a bounded in-memory store of the hot path dropped because it was full, by store.
# TYPE regapi_store_evictions_total counter
regapi_store_evictions_total{store="answer_memo"} 2
regapi_store_evictions_total{store="extract_chunks"} 6
regapi_store_evictions_total{store="image_summaries"} 0
regapi_store_evictions_total{store="other"} 1
regapi_store_evictions_total{store="scoped_clients"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "regapi_store_evictions_total"); err != nil {
		t.Error(err)
	}

	var none *Stores
	none.Evicted(StoreAnswerMemo) // a nil *Stores counts nothing and does not panic
	none.Watch(StoreExtractChunks, dropped.Load)
}
