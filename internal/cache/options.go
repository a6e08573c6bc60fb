package cache

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Option configures a Cache made by New.
type Option func(*options) error

type options struct {
	tagTTL        time.Duration
	tagListTTL    time.Duration
	repoListTTL   time.Duration
	negativeTTL   time.Duration
	staleWindow   time.Duration
	loadTimeout   time.Duration
	maxBytes      int64
	maxEntryBytes int64 // 0 until set: derived from maxBytes in makeOptions
	maxEntries    int
	clock         func() time.Time
	registerer    prometheus.Registerer
	shared        sharedOptions
}

// sharedOptions configure the shared tier; url "" means none.
type sharedOptions struct {
	url, username, password string
	prefix                  string
	timeout                 time.Duration
	lease                   time.Duration
}

// MaxSharedPrefix bounds the shared tier's key prefix: keys stay short,
// and a deployment name fits many times.
const MaxSharedPrefix = 128

// Defaults of the options; the service's settings table refers to them.
const (
	// DefaultMaxBytes is the memory budget of the cached answers.
	DefaultMaxBytes = 256 << 20
	// A manifest is capped at 4 MiB by the registry client; configs are far
	// smaller in practice. Anything larger would crowd out thousands of
	// ordinary entries.
	DefaultMaxEntryBytes = 4 << 20
	// About 100k small entries (digests, short tag lists) fit in a few tens of
	// MiB of bookkeeping, well inside the default byte budget.
	DefaultMaxEntries = 100_000
	// DefaultTagTTL keeps a tag's resolution (manifest, digest, config
	// read by tag) fresh; tags move, digests never do.
	DefaultTagTTL = 30 * time.Second
	// DefaultTagListTTL keeps a tag listing fresh.
	DefaultTagListTTL = 30 * time.Second
	// DefaultRepoListTTL keeps a repository listing fresh; repositories
	// appear less often than tags.
	DefaultRepoListTTL = 60 * time.Second
	// DefaultNegativeTTL keeps a "not found" answer, short so that a push
	// shows soon.
	DefaultNegativeTTL = 5 * time.Second
	// DefaultStaleWindow is how long past its TTL an answer is served when
	// the upstream fails.
	DefaultStaleWindow = 10 * time.Minute
	// DefaultSharedPrefix starts every key of the shared tier.
	DefaultSharedPrefix = "regapi:"
	// DefaultSharedTimeout bounds one call to the shared tier: a hit must
	// be far cheaper than the registry round trip it saves.
	DefaultSharedTimeout = 50 * time.Millisecond
	// DefaultSharedLease is how long one replica fetches a missing key for
	// the fleet before the others fetch themselves.
	DefaultSharedLease = 5 * time.Second
)

func makeOptions(opts ...Option) (*options, error) {
	o := &options{
		tagTTL:      DefaultTagTTL,
		tagListTTL:  DefaultTagListTTL,
		repoListTTL: DefaultRepoListTTL,
		negativeTTL: DefaultNegativeTTL,
		staleWindow: DefaultStaleWindow,
		loadTimeout: 30 * time.Second,
		maxBytes:    DefaultMaxBytes,
		maxEntries:  DefaultMaxEntries,
		clock:       time.Now,
		shared: sharedOptions{
			prefix:  DefaultSharedPrefix,
			timeout: DefaultSharedTimeout,
			lease:   DefaultSharedLease,
		},
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.maxEntryBytes == 0 {
		o.maxEntryBytes = min(DefaultMaxEntryBytes, o.maxBytes)
	}
	if o.maxEntryBytes > o.maxBytes {
		return nil, fmt.Errorf("cache: max entry bytes %d exceed max bytes %d", o.maxEntryBytes, o.maxBytes)
	}
	return o, nil
}

func nonNegative(what string, d time.Duration, dst *time.Duration) error {
	if d < 0 {
		return fmt.Errorf("cache: %s must not be negative, got %s", what, d)
	}
	*dst = d
	return nil
}

// WithTagTTL sets how long a tag-to-digest answer (and so a manifest, digest
// or config asked for by tag) is served without asking the registry again.
// Zero keeps nothing fresh: every lookup asks the registry, concurrent ones
// still merged and failures still answered from the stale copy.
// The default value is 30 seconds.
func WithTagTTL(d time.Duration) Option {
	return func(o *options) error { return nonNegative("tag TTL", d, &o.tagTTL) }
}

// WithTagListTTL sets how long a tag list or tag page is served from memory.
// The default value is 30 seconds.
func WithTagListTTL(d time.Duration) Option {
	return func(o *options) error { return nonNegative("tag list TTL", d, &o.tagListTTL) }
}

// WithRepoListTTL sets how long a repository list or page is served from
// memory. The default value is 60 seconds.
func WithRepoListTTL(d time.Duration) Option {
	return func(o *options) error { return nonNegative("repository list TTL", d, &o.repoListTTL) }
}

// WithNegativeTTL sets how long a not-found answer (ErrImageNotFound,
// ErrRepositoryNotFound) is remembered. Zero disables negative caching.
// The default value is 5 seconds.
func WithNegativeTTL(d time.Duration) Option {
	return func(o *options) error { return nonNegative("negative TTL", d, &o.negativeTTL) }
}

// WithStaleWindow sets how long past its expiry an answer is still served
// when refreshing it fails transiently (5xx, timeout, connection error, 429).
// Zero disables stale-if-error. The default value is 10 minutes.
func WithStaleWindow(d time.Duration) Option {
	return func(o *options) error { return nonNegative("stale window", d, &o.staleWindow) }
}

// WithLoadTimeout bounds one shared upstream load. A load runs detached from
// the caller that started it, so that caller leaving does not fail the
// others; this bound is what stops it. The default value is 30 seconds.
func WithLoadTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("cache: load timeout must be positive, got %s", d)
		}
		o.loadTimeout = d
		return nil
	}
}

// WithMaxBytes sets the byte budget: the estimated size of all entries
// (payload, key and bookkeeping). Least recently used entries are evicted
// to stay within it. The default value is 256 MiB.
func WithMaxBytes(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("cache: max bytes must be positive, got %d", n)
		}
		o.maxBytes = n
		return nil
	}
}

// WithMaxEntryBytes sets the largest entry that is cached; larger answers
// are passed through. It may not exceed the byte budget.
// The default value is 4 MiB, or the byte budget if that is smaller.
func WithMaxEntryBytes(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("cache: max entry bytes must be positive, got %d", n)
		}
		o.maxEntryBytes = n
		return nil
	}
}

// WithMaxEntries sets the most entries kept, whatever their size.
// The default value is 100000.
func WithMaxEntries(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("cache: max entries must be positive, got %d", n)
		}
		o.maxEntries = n
		return nil
	}
}

// WithClock sets the clock that TTLs and the stale window are measured by;
// tests pass a controllable one. The default value is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("cache: clock must not be nil")
		}
		o.clock = now
		return nil
	}
}

// WithRegisterer registers the cache's metrics (regapi_cache_*) with r.
// The default value is nil: metrics are kept but not registered.
func WithRegisterer(r prometheus.Registerer) Option {
	return func(o *options) error {
		o.registerer = r
		return nil
	}
}

// WithShared puts a shared tier behind memory: a Redis or Valkey server at
// url (redis://host:port[/db] or rediss:// for TLS) that every replica of a
// deployment uses. A lookup goes memory, then shared, then the registry;
// what the registry answers is written to both. username and password, when
// not empty, replace the URL's (which must carry no password: callers read
// it from a file or variable). The default value is "": no shared tier.
func WithShared(url, username, password string) Option {
	return func(o *options) error {
		o.shared.url, o.shared.username, o.shared.password = url, username, password
		return nil
	}
}

// WithSharedPrefix starts every key of the shared tier, so that two
// deployments can share a server. The default value is "regapi:".
func WithSharedPrefix(p string) Option {
	return func(o *options) error {
		if len(p) > MaxSharedPrefix {
			return fmt.Errorf("cache: shared prefix is longer than %d bytes", MaxSharedPrefix)
		}
		o.shared.prefix = p
		return nil
	}
}

// WithSharedTimeout bounds each call to the shared tier; a slower server
// counts as an error and the lookup goes on to the registry. The default
// value is 50 milliseconds.
func WithSharedTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("cache: shared timeout must be positive, got %s", d)
		}
		o.shared.timeout = d
		return nil
	}
}

// WithSharedLease sets how long a replica that misses holds the right to
// fetch a key for the whole deployment; the others wait for its answer at
// most this long, then fetch themselves. The default value is 5 seconds.
func WithSharedLease(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("cache: shared lease must be positive, got %s", d)
		}
		o.shared.lease = d
		return nil
	}
}

// longestMutableTTL is the longest any entry that a write can change lives.
func (o *options) longestMutableTTL() time.Duration {
	return max(o.tagTTL, o.tagListTTL, o.repoListTTL, o.negativeTTL)
}
