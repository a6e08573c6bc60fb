package handlers

// StoreMetrics counts the values the HTTP layer's bounded in-memory stores
// evict because they are full; telemetry's *Stores satisfies it. store is
// one of the store names below, the label values telemetry knows.
type StoreMetrics interface {
	Evicted(store string)
}

// The HTTP layer's bounded stores, as docs/stores.md lists them.
const (
	storeAnswerMemo     = "answer_memo"
	storeImageSummaries = "image_summaries"
	storeScopedClients  = "scoped_clients"
)

// evictedFunc returns the callback that counts store's evictions in m, or
// nil when m is nil.
func evictedFunc(m StoreMetrics, store string) func() {
	if m == nil {
		return nil
	}
	return func() { m.Evicted(store) }
}
