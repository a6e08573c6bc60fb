package cache

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrLoadPanicked is wrapped by the error a lookup returns when the upstream
// call serving it panicked.
var ErrLoadPanicked = errors.New("cache: upstream call panicked")

// lookup names one cacheable answer.
type lookup struct {
	key  string
	loc  string
	kind kind
	// ttl is how long a positive answer stays fresh; immutable answers
	// (digest-addressed) never expire and ignore it.
	ttl       time.Duration
	immutable bool
	// op and arg are the key's parts (see client.key); codec turns the
	// answer into bytes for the shared tier, nil when it is not shared.
	op, arg string
	codec   *codec
}

// loadFunc asks the registry. It returns the answer and the answer's
// estimated payload size in bytes.
type loadFunc func(ctx context.Context) (val any, size int64, err error)

// call is one upstream load that any number of lookups wait for.
type call struct {
	done  chan struct{} // closed when val and err are set
	epoch uint64
	val   any
	size  int64
	err   error
	// shared is set when the shared tier answered; ttl is then what was
	// left of its expiry there (0: none), which bounds the memory copy's.
	shared bool
	ttl    time.Duration
}

// get answers l from memory when it can, and otherwise from a load shared
// with every concurrent lookup of the same key. It reports HIT, MISS or
// STALE into ctx's Outcome.
func (c *Cache) get(ctx context.Context, l lookup, load loadFunc) (any, error) {
	now := c.o.clock()
	c.mu.Lock()
	e, ok := c.lru.Get(l.key)
	if ok && e.fresh(now) {
		c.mu.Unlock()
		c.m.hits[l.kind].Inc()
		Observe(ctx, StatusHit, 0)
		return e.val, e.err
	}
	var stale *entry
	if ok && e.err == nil && c.o.staleWindow > 0 && now.Before(e.expires.Add(c.o.staleWindow)) {
		stale = e
		if now.Before(e.retryAt) {
			c.mu.Unlock()
			return c.serveStale(ctx, l.kind, stale, now)
		}
	}
	cl := c.calls[l.key]
	if cl == nil && ctx.Err() != nil {
		// Nobody would wait for a load started for a caller already gone.
		c.mu.Unlock()
		c.m.misses[l.kind].Inc()
		return nil, fmt.Errorf("cache: %s lookup: %w", l.kind, context.Cause(ctx))
	}
	if cl == nil {
		cl = &call{done: make(chan struct{}), epoch: c.epoch}
		c.calls[l.key] = cl
		detached := context.WithoutCancel(ctx)
		c.loaders.start(func() { c.run(detached, l, cl, load) })
	} else {
		c.m.coalesced[l.kind].Inc()
	}
	c.mu.Unlock()

	select {
	case <-cl.done:
	case <-ctx.Done():
		c.m.misses[l.kind].Inc()
		return nil, fmt.Errorf("cache: waiting for %s: %w", l.kind, context.Cause(ctx))
	}
	if cl.err != nil && stale != nil && isTransient(cl.err) {
		if now := c.o.clock(); now.Before(stale.expires.Add(c.o.staleWindow)) {
			return c.serveStale(ctx, l.kind, stale, now)
		}
	}
	if cl.shared {
		observeShared(ctx)
		return cl.val, cl.err
	}
	c.m.misses[l.kind].Inc()
	Observe(ctx, StatusMiss, 0)
	return cl.val, cl.err
}

// hit returns the fresh entry under key (a not-found one included),
// counting and reporting the hit, or nil. Callers try it before building a
// load closure, so that a hit allocates nothing for the miss path.
func (c *Cache) hit(ctx context.Context, key string) *entry {
	now := c.o.clock()
	c.mu.Lock()
	e, ok := c.lru.Get(key)
	c.mu.Unlock()
	if !ok || !e.fresh(now) {
		return nil
	}
	c.m.hits[e.kind].Inc()
	Observe(ctx, StatusHit, 0)
	return e
}

// peek returns the fresh positive answer under key, counting and reporting
// a hit; it never asks the registry and counts nothing when it has no answer.
func (c *Cache) peek(ctx context.Context, key string) (any, bool) {
	now := c.o.clock()
	c.mu.Lock()
	e, ok := c.lru.Get(key)
	c.mu.Unlock()
	if !ok || e.err != nil || !e.fresh(now) {
		return nil, false
	}
	c.m.hits[e.kind].Inc()
	Observe(ctx, StatusHit, 0)
	return e.val, true
}

// held returns the positive answer under key, fresh or not, without touching
// its recency or any metric.
func (c *Cache) held(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Peek(key)
	if !ok || e.err != nil {
		return nil, false
	}
	return e.val, true
}

func (c *Cache) serveStale(ctx context.Context, k kind, e *entry, now time.Time) (any, error) {
	c.m.stale[k].Inc()
	age := now.Sub(e.stored)
	Observe(ctx, StatusStale, age)
	return e.val, nil
}

// run performs a load detached from the caller that started it (ctx carries
// its values but not its cancellation), bounded by the load timeout, on a
// goroutine of c.loaders. A panic becomes the load's error; the key is
// released whatever happens.
func (c *Cache) run(ctx context.Context, l lookup, cl *call, load loadFunc) {
	ctx, cancel := context.WithTimeout(ctx, c.o.loadTimeout)
	defer cancel()
	defer close(cl.done)
	defer c.finish(l, cl)
	defer func() {
		if r := recover(); r != nil {
			cl.val, cl.size = nil, 0
			cl.err = fmt.Errorf("%w: %s lookup: %v", ErrLoadPanicked, l.kind, r)
		}
	}()
	if c.shared == nil || !c.shared.shares(l) {
		cl.val, cl.size, cl.err = load(ctx)
		return
	}
	r := c.shared.load(ctx, l, load, func() bool { return c.current(cl.epoch) })
	cl.val, cl.size, cl.err, cl.shared, cl.ttl = r.val, r.size, r.err, r.shared, r.ttl
}

// current reports whether no purge or invalidation has happened since
// epoch.
func (c *Cache) current(epoch uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch == epoch
}

// finish releases the key and stores what the load found: a positive answer,
// a not-found answer for the negative TTL, or, after a 429 with a delay, when
// the stale copy may next be refreshed. Other errors are never stored.
func (c *Cache) finish(l lookup, cl *call) {
	now := c.o.clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.calls, l.key)
	if cl.epoch != c.epoch {
		return
	}
	e := &entry{key: l.key, loc: l.loc, kind: l.kind, stored: now}
	switch {
	case cl.err == nil:
		e.val, e.size = cl.val, cl.size
		if !l.immutable {
			e.expires = now.Add(shorter(l.ttl, cl.ttl))
		}
	case isNotFound(cl.err) && c.o.negativeTTL > 0:
		e.err = cl.err
		e.expires = now.Add(shorter(c.o.negativeTTL, cl.ttl))
	default:
		if d := retryAfter(cl.err); d > 0 {
			if old, ok := c.lru.Peek(l.key); ok && old.err == nil {
				old.retryAt = now.Add(d)
			}
		}
		return
	}
	e.size = entrySize(e.key, e.loc, e.size)
	c.storeLocked(e)
}

// shorter returns ttl, or left when it is set and shorter: an answer from
// the shared tier is fresh only as long as it is fresh there.
func shorter(ttl, left time.Duration) time.Duration {
	if left > 0 && left < ttl {
		return left
	}
	return ttl
}
