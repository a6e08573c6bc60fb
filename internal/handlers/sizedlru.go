package handlers

import "github.com/hashicorp/golang-lru/v2/simplelru"

// sizedLRU is golang-lru's simplelru bounded by bytes as well as entries:
// each value is added with its size, and the least recently used values go
// until the sizes add up to at most maxBytes. A value larger than maxBytes
// is never kept. It is the handlers' one byte-bounded LRU (the answer memo
// and the file indexes); it is not safe for concurrent use.
type sizedLRU[K comparable, V any] struct {
	lru      *simplelru.LRU[K, sized[V]]
	bytes    int64
	maxBytes int64
}

type sized[V any] struct {
	v V
	n int64
}

func newSizedLRU[K comparable, V any](maxEntries int, maxBytes int64) *sizedLRU[K, V] {
	c := &sizedLRU[K, V]{maxBytes: maxBytes}
	// NewLRU fails only for a size below 1.
	c.lru, _ = simplelru.NewLRU(max(1, maxEntries), func(_ K, s sized[V]) { c.bytes -= s.n })
	return c
}

// Get returns the value under k and marks it most recently used.
func (c *sizedLRU[K, V]) Get(k K) (V, bool) {
	s, ok := c.lru.Get(k)
	return s.v, ok
}

// Add keeps v, of n bytes, under k, replacing what k held, and evicts the
// least recently used values past the byte bound. It reports whether v was
// kept.
func (c *sizedLRU[K, V]) Add(k K, v V, n int64) bool {
	c.lru.Remove(k) // a replaced value leaves the byte count first
	if n > c.maxBytes {
		return false
	}
	c.lru.Add(k, sized[V]{v: v, n: n})
	c.bytes += n
	for c.bytes > c.maxBytes {
		c.lru.RemoveOldest()
	}
	return true
}

// Remove drops the value under k.
func (c *sizedLRU[K, V]) Remove(k K) { c.lru.Remove(k) }

// Len returns the number of values kept.
func (c *sizedLRU[K, V]) Len() int { return c.lru.Len() }

// Bytes returns the sum of the sizes of the values kept.
func (c *sizedLRU[K, V]) Bytes() int64 { return c.bytes }
