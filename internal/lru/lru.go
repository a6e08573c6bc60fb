// Package lru is regapi's one in-memory least-recently-used store bounded
// both by its number of values and by the bytes they take. The cache's
// answers and the HTTP layer's memos use it; each keeps its own lock, its
// own size estimate and its own rules for what is worth keeping.
//
// It wraps hashicorp/golang-lru's simplelru, which bounds entries, and adds
// the byte count and the eviction loop, so that neither user keeps a copy.
package lru

import (
	"fmt"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// LRU holds values under keys, evicting the least recently used ones when
// either bound is passed. It is not safe for concurrent use: callers hold
// their own lock, usually around more than one call.
type LRU[K comparable, V any] struct {
	lru      *simplelru.LRU[K, item[V]]
	bytes    int64
	maxBytes int64
	onRemove func(key K, v V, evicted bool)
	removing bool // set while a value is removed on purpose, not evicted
}

// item is a value and the size it was added with, so that removal
// subtracts exactly what adding counted.
type item[V any] struct {
	v    V
	size int64
}

// New returns an empty LRU of at most maxEntries values and maxBytes bytes.
// onRemove, if not nil, is called with each value that leaves, evicted
// telling an eviction (a bound was passed) from a removal on purpose
// (Remove, or Add replacing the value).
func New[K comparable, V any](maxEntries int, maxBytes int64, onRemove func(key K, v V, evicted bool)) (*LRU[K, V], error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("lru: byte bound %d, want a positive one", maxBytes)
	}
	l := &LRU[K, V]{maxBytes: maxBytes, onRemove: onRemove}
	var err error
	l.lru, err = simplelru.NewLRU(maxEntries, l.removed)
	if err != nil {
		return nil, fmt.Errorf("lru: %w", err)
	}
	return l, nil
}

// removed is simplelru's callback for every value that leaves.
func (l *LRU[K, V]) removed(key K, it item[V]) {
	l.bytes -= it.size
	if l.onRemove != nil {
		l.onRemove(key, it.v, !l.removing)
	}
}

// Add keeps v, taking size bytes, under key, replacing any value there,
// then evicts the least recently used values until the byte bound holds. A
// value larger than the bound evicts everything, itself included: callers
// that can tell refuse such values before adding them.
func (l *LRU[K, V]) Add(key K, v V, size int64) {
	l.Remove(key) // a replaced value leaves the byte count first
	l.lru.Add(key, item[V]{v: v, size: size})
	l.bytes += size
	for l.bytes > l.maxBytes {
		if _, _, ok := l.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// Get returns the value under key and marks it recently used.
func (l *LRU[K, V]) Get(key K) (V, bool) {
	it, ok := l.lru.Get(key)
	return it.v, ok
}

// Peek returns the value under key without marking it used.
func (l *LRU[K, V]) Peek(key K) (V, bool) {
	it, ok := l.lru.Peek(key)
	return it.v, ok
}

// Remove drops the value under key, reporting whether there was one.
func (l *LRU[K, V]) Remove(key K) bool {
	l.removing = true
	defer func() { l.removing = false }()
	return l.lru.Remove(key)
}

// Values returns the values from the oldest to the newest.
func (l *LRU[K, V]) Values() []V {
	its := l.lru.Values()
	vs := make([]V, len(its))
	for i, it := range its {
		vs[i] = it.v
	}
	return vs
}

// Len returns the number of values.
func (l *LRU[K, V]) Len() int { return l.lru.Len() }

// Bytes returns the sum of the values' sizes.
func (l *LRU[K, V]) Bytes() int64 { return l.bytes }
