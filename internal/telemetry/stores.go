package telemetry

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Store names: the values of regapi_store_evictions_total's store label, a
// fixed set (docs/stores.md lists the stores). Evictions of a store not in
// it count under StoreOther.
const (
	StoreAnswerMemo     = "answer_memo"     // internal/handlers: encoded JSON answers
	StoreImageSummaries = "image_summaries" // internal/handlers: the image table's rows
	StoreScopedClients  = "scoped_clients"  // internal/handlers: repository-scoped clients
	StoreExtractChunks  = "extract_chunks"  // internal/extract: the chunk free list
	StoreOther          = "other"
)

var storeNames = [...]string{StoreAnswerMemo, StoreImageSummaries, StoreScopedClients, StoreExtractChunks, StoreOther}

// Stores counts what the hot path's bounded in-memory stores drop because
// they are full: a memo's or the scoped clients' least recently used
// value, a chunk the free list had no room for. A store that evicts all
// the time is too small for the load. (The cache and the layer cache count
// their own evictions: regapi_cache_evictions_total and
// regapi_layer_cache_evictions_total.) A nil *Stores counts nothing.
type Stores struct {
	desc    *prometheus.Desc
	evicted [len(storeNames)]atomic.Uint64

	mu      sync.Mutex
	watched [len(storeNames)]func() uint64
}

func newStores() *Stores {
	return &Stores{desc: prometheus.NewDesc(namespace+"_store_evictions_total",
		"Values a bounded in-memory store of the hot path dropped because it was full, by store.",
		[]string{"store"}, nil)}
}

// storeIndex returns the index of store in storeNames, StoreOther's for an
// unknown name.
func storeIndex(store string) int {
	for i, s := range storeNames {
		if s == store {
			return i
		}
	}
	return len(storeNames) - 1
}

// Evicted counts one value store dropped.
func (s *Stores) Evicted(store string) {
	if s == nil {
		return
	}
	s.evicted[storeIndex(store)].Add(1)
}

// Watch adds what f returns, a count store keeps itself, to store's
// evictions at every scrape: for a process-wide store whose package does
// not know Prometheus. f must be safe to call from any goroutine.
func (s *Stores) Watch(store string, f func() uint64) {
	if s == nil || f == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watched[storeIndex(store)] = f
}

// Describe implements prometheus.Collector.
func (s *Stores) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

// Collect implements prometheus.Collector: one series per store name,
// zeros included, so the set never changes.
func (s *Stores) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	watched := s.watched
	s.mu.Unlock()
	for i, name := range storeNames {
		v := s.evicted[i].Load()
		if f := watched[i]; f != nil {
			v += f()
		}
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.CounterValue, float64(v), name)
	}
}
