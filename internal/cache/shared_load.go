package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// leasePoll is how often a replica waiting for another's fetch looks for
// the value, in case the notification was lost (a reconnecting
// subscription); the notification is what normally wakes it.
const leasePoll = 100 * time.Millisecond

// release deletes a lease only if it is still the caller's: a lease that
// expired and was taken by another replica stays.
var release = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// sharedResult is what a load through the shared tier produced.
type sharedResult struct {
	val    any
	size   int64
	err    error
	shared bool          // answered by the shared tier, not the registry
	ttl    time.Duration // the shared entry's remaining expiry, or 0
}

// load answers l from the shared tier, or fetches it with load, once for
// the deployment: the replica that misses first takes a lease and fetches;
// the others wait for its answer (notified by an event, bounded by the
// lease) and fetch themselves only when it fails or the wait runs out.
// fresh reports whether the answer may still be written: an invalidation
// seen during the load makes it stale.
func (s *shared) load(ctx context.Context, l lookup, load loadFunc, fresh func() bool) sharedResult {
	if !s.up() {
		return s.fetch(ctx, l, load, fresh, "", "")
	}
	v, gen, ok := s.get(ctx, l)
	if ok {
		return sharedResult{val: v.val, size: v.size, err: v.err, shared: true, ttl: v.ttl}
	}
	if !s.up() {
		return s.fetch(ctx, l, load, fresh, "", gen)
	}
	s.m.misses[l.kind].Inc()
	deadline := time.Now().Add(s.lease)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for {
		token, won, err := s.takeLease(ctx, l)
		if err != nil {
			return s.fetch(ctx, l, load, fresh, "", gen)
		}
		if won {
			// The previous holder may have stored the answer and let go
			// between this replica's read and its taking the lease.
			if v, _, ok := s.get(ctx, l); ok {
				s.releaseLease(ctx, l, token)
				return sharedResult{val: v.val, size: v.size, err: v.err, shared: true, ttl: v.ttl}
			}
			s.m.leases[leaseWon].Inc()
			return s.fetch(ctx, l, load, fresh, token, gen)
		}
		s.m.leases[leaseWaited].Inc()
		v, ok, again := s.wait(ctx, l, deadline)
		if ok {
			return sharedResult{val: v.val, size: v.size, err: v.err, shared: true, ttl: v.ttl}
		}
		if !again {
			s.m.leases[leaseGaveUp].Inc()
			return s.fetch(ctx, l, load, fresh, "", gen)
		}
	}
}

// fetch asks the registry and writes the answer to the shared tier, unless
// the location was invalidated since gen was read. With a lease token it
// then releases the lease and tells the waiters.
func (s *shared) fetch(ctx context.Context, l lookup, load loadFunc, fresh func() bool, token, gen string) sharedResult {
	var r sharedResult
	if token != "" {
		// Whatever happens, waiters learn that this fetch is over; a
		// panicking load still releases (and Cache.run recovers it).
		defer func() {
			s.releaseLease(ctx, l, token)
			s.notify(context.WithoutCancel(ctx), l.key, r.err == nil || isNotFound(r.err))
		}()
	}
	r.val, r.size, r.err = load(ctx)
	if fresh() && s.up() {
		s.store(context.WithoutCancel(ctx), l, r.val, r.size, r.err, gen)
	}
	return r
}

// releaseLease lets go of l's lease if it is still token's.
func (s *shared) releaseLease(ctx context.Context, l lookup, token string) {
	// Best effort: an unreleased lease expires with its ttl.
	_ = s.call(context.WithoutCancel(ctx), callLease, func(ctx context.Context) error {
		return release.Run(ctx, s.rdb, []string{s.leaseKey(l.key)}, token).Err()
	})
}

// takeLease tries to take l's lease for the lease time.
func (s *shared) takeLease(ctx context.Context, l lookup) (token string, won bool, err error) {
	b := make([]byte, 8)
	rand.Read(b)
	token = hex.EncodeToString(b)
	err = s.call(ctx, callLease, func(ctx context.Context) error {
		var err error
		won, err = s.rdb.SetNX(ctx, s.leaseKey(l.key), token, s.lease).Result()
		return err
	})
	return token, won, err
}

// wait waits for the lease holder's answer until deadline. ok: the value
// is there. again: the lease is gone without a value (the holder failed or
// its lease ran out) and the caller may try to take it; otherwise the
// caller fetches itself.
func (s *shared) wait(ctx context.Context, l lookup, deadline time.Time) (v sharedValue, ok, again bool) {
	woke := s.waitFor(l.key)
	defer s.stopWaiting(l.key, woke)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	poll := time.NewTicker(leasePoll)
	defer poll.Stop()
	for {
		filled := false
		select {
		case filled = <-woke:
			if !filled {
				return v, false, false // the holder failed: fetch
			}
		case <-poll.C:
		case <-timer.C:
			return v, false, false
		case <-ctx.Done():
			return v, false, false
		}
		if v, _, ok := s.get(ctx, l); ok {
			return v, true, false
		}
		if !s.up() {
			return v, false, false
		}
		held, err := s.leaseHeld(ctx, l)
		if err != nil {
			return v, false, false
		}
		if !held {
			// Filled, yet not readable (written, then invalidated) or
			// never filled: the lease is free to take again.
			return v, false, true
		}
	}
}

func (s *shared) leaseHeld(ctx context.Context, l lookup) (bool, error) {
	var n int64
	err := s.call(ctx, callLease, func(ctx context.Context) error {
		var err error
		n, err = s.rdb.Exists(ctx, s.leaseKey(l.key)).Result()
		return err
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, err
	}
	return n > 0, nil
}

// waitFor registers a waiter for key's fill event.
func (s *shared) waitFor(key string) chan bool {
	ch := make(chan bool, 1)
	s.mu.Lock()
	s.waiting[key] = append(s.waiting[key], ch)
	s.mu.Unlock()
	return ch
}

func (s *shared) stopWaiting(key string, ch chan bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.waiting[key]
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(s.waiting, key)
	} else {
		s.waiting[key] = ws
	}
}

// wake tells key's waiters that its fetch is over.
func (s *shared) wake(key string, filled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.waiting[key] {
		select {
		case w <- filled:
		default:
		}
	}
}
