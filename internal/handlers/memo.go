package handlers

import (
	"encoding/binary"
	"slices"
	"sync"

	"github.com/regapi/regapi/internal/lru"
)

// Bounds of the encoded-answer memo: at most memoEntries answers and
// memoBytes of them in all; an answer over memoMaxBody is never kept.
const (
	memoEntries = 4096
	memoBytes   = 8 << 20
	memoMaxBody = 64 << 10
)

// answerMemo remembers JSON answers already encoded, so that answering the
// same data again is a lookup and a write instead of a json.Marshal (and,
// for lists, a hash for the ETag): in a CPU profile of cached reads that
// encoding takes about a tenth of each request.
//
// It is not a cache of its own: every request still asks the client (and
// its cache) for the data, and a memoized answer is used only when it was
// encoded from exactly that data. Manifests are keyed by everything their
// envelope holds, digest included (the digest fixes the bytes); a page of
// tags is compared item by item with the page it was encoded from. So TTLs,
// purges, write invalidation and stale answers work as they would without
// the memo.
type answerMemo struct {
	*sizedLRU[*memoAnswer]
}

// memoAnswer is one encoded answer and, for a page, the data behind it.
type memoAnswer struct {
	body []byte
	etag string
	// items and next are the page the body was encoded from (nil for
	// answers whose key says everything).
	items []string
	next  string
	// nextURL is a page's link to the next one, for the Link header.
	nextURL string
}

func (a *memoAnswer) size() int {
	n := len(a.body) + len(a.etag) + len(a.next) + len(a.nextURL) + 80
	for _, s := range a.items {
		n += len(s) + 16
	}
	return n
}

// newAnswerMemo returns an empty memo; evicted, if not nil, is called for
// each answer evicted to stay within the bounds.
func newAnswerMemo(evicted func()) *answerMemo {
	return &answerMemo{newSizedLRU[*memoAnswer](memoEntries, memoBytes, evicted)}
}

// get returns the answer memoized under key, or nil.
func (m *answerMemo) get(key string) *memoAnswer {
	if m == nil {
		return nil
	}
	a, _ := m.sizedLRU.get(key)
	return a
}

// getPage returns the answer memoized under key when it was encoded from
// exactly items and next.
func (m *answerMemo) getPage(key string, items []string, next string) *memoAnswer {
	a := m.get(key)
	if a == nil || a.next != next || !slices.Equal(a.items, items) {
		return nil
	}
	return a
}

// put memoizes a under key. The memo keeps a's slices: callers hand over
// ones nobody changes afterwards.
func (m *answerMemo) put(key string, a *memoAnswer) {
	if m == nil || len(a.body) > memoMaxBody {
		return
	}
	m.sizedLRU.put(key, a)
}

// sizedLRU is internal/lru's byte-bounded LRU behind a lock, for values
// that tell their own size: the answer memo and the image summaries.
type sizedLRU[V interface{ size() int }] struct {
	mu  sync.Mutex
	lru *lru.LRU[string, V]
}

// newSizedLRU panics on bounds that are not positive: its callers pass
// constants. evicted, if not nil, is called for each value evicted to stay
// within the bounds (not for replaced ones).
func newSizedLRU[V interface{ size() int }](entries int, maxBytes int64, evicted func()) *sizedLRU[V] {
	var onRemove func(string, V, bool)
	if evicted != nil {
		onRemove = func(_ string, _ V, wasEvicted bool) {
			if wasEvicted {
				evicted()
			}
		}
	}
	l, err := lru.New[string, V](entries, maxBytes, onRemove)
	if err != nil {
		panic(err)
	}
	return &sizedLRU[V]{lru: l}
}

// get returns the value under key.
func (m *sizedLRU[V]) get(key string) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Get(key)
}

// put keeps v under key, evicting the least recently used values beyond
// the byte budget.
func (m *sizedLRU[V]) put(key string, v V) {
	size := int64(v.size())
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lru.Add(key, v, size)
}

// memoKey joins a key's parts, each after its length, so that no two
// lists of parts give the same key whatever bytes they hold.
func memoKey(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p) + binary.MaxVarintLen64
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return string(b)
}
