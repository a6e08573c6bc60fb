package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// The shared tier's key layout, below the configured prefix. The version
// changes whenever the layout or the value encoding does, so that replicas
// of two versions never read each other's values.
//
//	v1:e:<memory key>  an answer; memory keys start with the upstream name
//	v1:i:<location>    memory keys under location that a write changes
//	v1:r:<location>    repository-list keys under location
//	v1:l:<memory key>  the lease of the replica fetching an answer
//	v1:g:<location>    the location's generation, counted up by every write
//	v1:s:<name>        a secret the replicas agree on (SharedSecret); kept
//	                   without expiry, never purged
//	v1:events          the pub/sub channel of invalidations and leases
const (
	sharedVersion = "v1:"
	nsEntry       = "e:"
	nsIndex       = "i:"
	nsRepoIndex   = "r:"
	nsLease       = "l:"
	nsGeneration  = "g:"
	nsSecret      = "s:"
)

// digestTTL is how long a digest-addressed answer stays in the shared tier.
// It never changes, so any length is correct; a week outlives rollouts and
// lets a server that regapi no longer uses empty itself.
const digestTTL = 7 * 24 * time.Hour

// downFor is how long the tier is skipped after a failed call, so that a
// server that is down costs one timeout per second, not one per lookup.
// Past it, the next lookup tries again: a server that is back is used again.
const downFor = time.Second

// sharedDialTimeout bounds a background dial of the connection pool, and
// sharedIdleConns is how many connections it keeps ready: a lookup's calls
// are sequential, and loads run on a few goroutines at once.
const (
	sharedDialTimeout = 2 * time.Second
	sharedIdleConns   = 2
)

// shared is the tier behind memory. Every call is bounded by timeout;
// failures are counted and the lookup carries on without the tier.
type shared struct {
	c       *Cache
	rdb     *redis.Client
	prefix  string // configured prefix + version
	timeout time.Duration
	lease   time.Duration
	id      string // this replica, in events
	m       *sharedMetrics

	downUntil atomic.Int64 // unix nanoseconds; the tier is skipped before it

	mu      sync.Mutex
	waiting map[string][]chan bool // memory key -> lease waiters; true: filled
	acks    map[string]chan struct{}

	events *redis.PubSub
	done   chan struct{} // closed when the event loop has ended
	// onResync, when set, is called after each resync (tests wait on it).
	onResync atomic.Pointer[func()]
}

// newShared connects the tier. It does not wait for the server: one that is
// down at start is used once it answers.
func newShared(c *Cache, o sharedOptions, m *sharedMetrics) (*shared, error) {
	ro, err := redis.ParseURL(o.url)
	if err != nil {
		// go-redis names the scheme or the part it did not understand,
		// never the password (and the URL carries none).
		return nil, fmt.Errorf("cache: shared url: %w", err)
	}
	if o.username != "" {
		ro.Username = o.username
	}
	if o.password != "" {
		ro.Password = o.password
	}
	ro.ReadTimeout, ro.WriteTimeout = o.timeout, o.timeout
	// A connection (a TLS handshake with rediss://) may take longer than
	// one call's bound. The pool keeps idle connections ready, dialed in
	// the background with this longer bound, so that calls rarely dial.
	ro.DialTimeout = max(o.timeout, sharedDialTimeout)
	ro.MinIdleConns = sharedIdleConns
	// Waiting for a pooled connection is part of the call's bound; a
	// failed call is not retried (the registry is the fallback).
	ro.PoolTimeout = o.timeout
	ro.MaxRetries = -1
	ro.ContextTimeoutEnabled = true
	ro.DisableIdentity = true // CLIENT SETINFO: one command less per connection
	id := make([]byte, 8)
	rand.Read(id)
	s := &shared{
		c: c, rdb: redis.NewClient(ro), prefix: o.prefix + sharedVersion,
		timeout: o.timeout, lease: o.lease, id: hex.EncodeToString(id), m: m,
		waiting: make(map[string][]chan bool), acks: make(map[string]chan struct{}),
		done: make(chan struct{}),
	}
	s.subscribe()
	return s, nil
}

// close ends the event loop and the connections.
func (s *shared) close() error {
	err := s.events.Close()
	<-s.done
	return errors.Join(err, s.rdb.Close())
}

func (s *shared) entryKey(memKey string) string { return s.prefix + nsEntry + memKey }
func (s *shared) leaseKey(memKey string) string { return s.prefix + nsLease + memKey }
func (s *shared) channel() string               { return s.prefix + "events" }

// up reports whether the tier is worth a call now.
func (s *shared) up() bool { return time.Now().UnixNano() >= s.downUntil.Load() }

// call runs f with the tier's timeout, timing it under op and counting a
// failure. redis.Nil (no such key) is an answer, not a failure.
func (s *shared) call(ctx context.Context, op sharedCall, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	s.m.latency[op].Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, redis.Nil) {
		s.m.errors[op].Inc()
		s.downUntil.Store(time.Now().Add(downFor).UnixNano())
	}
	return err
}

// sharedValue is what the tier answered for a lookup.
type sharedValue struct {
	val  any
	size int64
	err  error         // a not-found answer
	ttl  time.Duration // what is left of the entry's expiry; 0: none
}

// maxGenerationBytes bounds a location's generation as read: a counter.
const maxGenerationBytes = 64

// get reads l's entry and the generation of its location (see
// storeGuarded). ok is false on a miss, a failure or a value that is not
// what the key names (dropped, so that the registry's answer replaces it);
// such a value is never returned. Hits are counted here, misses by the
// caller, once per lookup.
func (s *shared) get(ctx context.Context, l lookup) (v sharedValue, gen string, ok bool) {
	key := s.entryKey(l.key)
	var get, genCmd *redis.StringCmd
	var ttl *redis.DurationCmd
	err := s.call(ctx, callGet, func(ctx context.Context) error {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			// Ranges, not whole values: what is read is bounded even if
			// the server holds something huge under the key.
			get = p.GetRange(ctx, key, 0, s.c.o.maxEntryBytes)
			ttl = p.PTTL(ctx, key)
			genCmd = p.GetRange(ctx, s.prefix+nsGeneration+l.loc, 0, maxGenerationBytes)
			return nil
		})
		if errors.Is(err, redis.Nil) {
			err = nil // a key that is not there is an answer
		}
		return err
	})
	if err != nil {
		return v, "", false
	}
	gen = genCmd.Val()
	b, err := get.Bytes()
	if err != nil || len(b) == 0 {
		return v, gen, false // GETRANGE answers "" for a key that is not there
	}
	v, err = decodeShared(l, b, s.c.o.maxEntryBytes)
	if err != nil {
		s.m.rejected[l.kind].Inc()
		// Best effort: call counts a failure and marks the tier down.
		_ = s.call(context.WithoutCancel(ctx), callDelete, func(ctx context.Context) error { return s.rdb.Del(ctx, key).Err() })
		return v, gen, false
	}
	if d := ttl.Val(); d > 0 {
		v.ttl = d
	}
	s.m.hits[l.kind].Inc()
	return v, gen, true
}

// storeIfCurrent writes an entry that a write can change, and lists it under
// its location (and, for a repository list, in the location's repository
// index), only if the location's generation is still the one read before
// the fetch: an invalidation in between makes the answer stale, and it
// must not land after the invalidation deleted the older copy. One script,
// so that the check and the write are one step for the server.
var storeIfCurrent = redis.NewScript(`
if (redis.call("GET", KEYS[2]) or "") ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
redis.call("SADD", KEYS[3], ARGV[4])
redis.call("PEXPIRE", KEYS[3], ARGV[5])
if ARGV[6] == "1" then
  redis.call("SADD", KEYS[4], ARGV[4])
  redis.call("PEXPIRE", KEYS[4], ARGV[5])
end
return 1`)

// store writes what the registry answered for l: a value for its TTL (a
// long one when digest-addressed), a not-found answer for the negative TTL.
// Entries a write can change are listed under their location, so that
// invalidation finds them without scanning, and are written only if no
// invalidation of the location happened since gen was read.
func (s *shared) store(ctx context.Context, l lookup, val any, size int64, lerr error, gen string) {
	b, ttl, ok := encodeShared(l, val, lerr, s.c.o)
	if !ok || int64(len(b)) > s.c.o.maxEntryBytes {
		return
	}
	key := s.entryKey(l.key)
	if lerr == nil && l.immutable {
		// Best effort: call counts a failure and marks the tier down.
		_ = s.call(ctx, callSet, func(ctx context.Context) error { return s.rdb.Set(ctx, key, b, ttl).Err() })
		return
	}
	repos := "0"
	if l.kind == kindRepositories {
		repos = "1"
	}
	keys := []string{key, s.prefix + nsGeneration + l.loc, s.prefix + nsIndex + l.loc, s.prefix + nsRepoIndex + l.loc}
	// Best effort: call counts a failure and marks the tier down.
	_ = s.call(ctx, callSet, func(ctx context.Context) error {
		return storeIfCurrent.Run(ctx, s.rdb, keys, gen, b, ttl.Milliseconds(), l.key, s.c.o.longestMutableTTL().Milliseconds(), repos).Err()
	})
}

// shares reports whether l goes through the shared tier: answers whose
// TTL is zero are never fresh, so there is nothing to share.
func (s *shared) shares(l lookup) bool {
	if l.codec == nil {
		return false
	}
	if l.immutable {
		return true
	}
	return l.ttl > 0
}
