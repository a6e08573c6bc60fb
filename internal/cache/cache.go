package cache

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/regapi/regapi/internal/lru"
)

// Cache holds registry answers for any number of wrapped clients. It is safe
// for concurrent use. Make one with New and wrap each upstream's client with
// Wrap.
type Cache struct {
	o       *options
	m       *metrics
	loaders *loaders
	shared  *shared // nil without WithShared

	mu  sync.Mutex
	lru *lru.LRU[string, *entry] // bounded by entries and by their sizes
	// epoch changes on every purge or invalidation; a load that started in
	// an older epoch does not store its answer, which may predate the write.
	epoch uint64
	calls map[string]*call
}

// entry is one cached answer. Its fields never change after it is stored,
// except retryAt, which is guarded by Cache.mu.
type entry struct {
	key  string
	loc  string // upstream name + repository path: what Purge matches
	kind kind
	val  any
	err  error // a not-found answer; val is nil
	size int64

	stored  time.Time
	expires time.Time // zero: digest-addressed, never expires
	// retryAt holds refreshes back after a 429 asked for a delay; the stale
	// copy is served meanwhile.
	retryAt time.Time
}

// entryOverhead approximates an entry's bookkeeping: the entry struct (about
// 180 bytes), the LRU's list element and map slot, and the allocation of the
// boxed value. 352 is measured: 200k tiny entries cost about 415 bytes each
// on the heap, key and location strings included.
const entryOverhead = 352

// entrySize is an entry's estimated footprint given its payload.
func entrySize(key, loc string, payload int64) int64 {
	return payload + int64(len(key)+len(loc)) + entryOverhead
}

func (e *entry) fresh(now time.Time) bool { return e.expires.IsZero() || now.Before(e.expires) }

// mutable reports whether a write to the entry's repository can change it.
func (e *entry) mutable() bool { return !e.expires.IsZero() }

// New returns an empty cache configured by opts.
func New(opts ...Option) (*Cache, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(o.registerer)
	if err != nil {
		return nil, err
	}
	c := &Cache{o: o, m: m, loaders: newLoaders(loaderIdle), calls: make(map[string]*call)}
	c.lru, err = lru.New(o.maxEntries, o.maxBytes, c.onRemove)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	if err := registerLoaderMetric(o.registerer, c.loaders); err != nil {
		return nil, err
	}
	if o.shared.url != "" {
		sm, err := newSharedMetrics(o.registerer)
		if err != nil {
			return nil, fmt.Errorf("cache: register shared metrics: %w", err)
		}
		if c.shared, err = newShared(c, o.shared, sm); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Close ends the shared tier's connections and event loop; a cache without
// one has nothing to close. The cache must not be used afterwards.
func (c *Cache) Close() error {
	if c.shared == nil {
		return nil
	}
	return c.shared.close()
}

// onRemove keeps the gauges in step with the LRU. It runs with c.mu held,
// from inside the LRU's methods.
func (c *Cache) onRemove(_ string, e *entry, evicted bool) {
	c.m.entries[e.kind].Dec()
	c.m.bytes[e.kind].Sub(float64(e.size))
	if evicted {
		c.m.evictions[e.kind].Inc()
	}
}

// storeLocked adds e, replacing any entry under its key, then evicts least
// recently used entries until the byte budget holds. An entry above the
// per-entry cap is not stored, and the older copy goes too: it is no longer
// the registry's answer.
func (c *Cache) storeLocked(e *entry) {
	if e.size > c.o.maxEntryBytes {
		c.lru.Remove(e.key)
		return
	}
	// Counted before adding: adding may evict e itself, which uncounts it.
	c.m.entries[e.kind].Inc()
	c.m.bytes[e.kind].Add(float64(e.size))
	c.lru.Add(e.key, e, e.size)
}

// put stores a digest-addressed answer that a load got along the way (the
// manifest behind a tag), in memory and in the shared tier. Immutable
// content is the same in every epoch, so no epoch check is needed.
func (c *Cache) put(ctx context.Context, l lookup, val any, size int64) {
	now := c.o.clock()
	c.mu.Lock()
	c.storeLocked(&entry{key: l.key, loc: l.loc, kind: l.kind, val: val, size: entrySize(l.key, l.loc, size), stored: now})
	c.mu.Unlock()
	if c.shared != nil && c.shared.up() && c.shared.shares(l) {
		c.shared.store(ctx, l, val, size, nil, "")
	}
}

// Purge drops the entries of one upstream or repository prefix and returns
// how many it dropped. prefix is "" (everything), "<upstream name>" or
// "<upstream name>/<repository path>"; it matches on path-component
// boundaries, so "hub/lib" drops "hub/lib" and "hub/lib/x" but not
// "hub/library". Loads in flight when Purge runs do not store their answers.
//
// With a shared tier, Purge also deletes the prefix's keys there (counted
// in the result) and has every replica drop its memory copies before it
// returns (bounded: see ackWait).
func (c *Cache) Purge(prefix string) int {
	prefix = strings.Trim(prefix, "/")
	n := c.purgeLocal(prefix)
	if c.shared != nil {
		n += c.shared.purge(context.Background(), prefix)
	}
	return n
}

func (c *Cache) purgeLocal(prefix string) int {
	return c.drop(func(e *entry) bool { return under(e.loc, prefix) })
}

// invalidateTimeout bounds the shared part of an invalidation after a
// write: a few calls and the replicas' acknowledgements.
const invalidateTimeout = time.Second

// invalidate drops what a write to the repository at loc can change: its
// tag-addressed and not-found entries, and the repository lists of it and
// every parent (a push can create the repository). With a shared tier it
// deletes them there too and waits until every replica has dropped its
// copies, so that a read anywhere after the write sees it.
func (c *Cache) invalidate(ctx context.Context, loc string) {
	c.invalidateLocal(loc)
	if c.shared != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), invalidateTimeout)
		defer cancel()
		c.shared.invalidate(ctx, loc)
	}
}

func (c *Cache) invalidateLocal(loc string) int {
	return c.drop(func(e *entry) bool {
		if e.kind == kindRepositories {
			return under(loc, e.loc)
		}
		return e.loc == loc && (e.mutable() || e.err != nil)
	})
}

func (c *Cache) drop(match func(*entry) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	n := 0
	for _, e := range c.lru.Values() {
		if match(e) && c.lru.Remove(e.key) {
			n++
		}
	}
	return n
}

// under reports whether loc is prefix or below it, by path component.
func under(loc, prefix string) bool {
	if prefix == "" || loc == prefix {
		return true
	}
	return strings.HasPrefix(loc, prefix) && loc[len(prefix)] == '/'
}

// Len returns the number of entries and their estimated size in bytes.
func (c *Cache) Len() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.lru.Bytes()
}
