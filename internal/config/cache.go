package config

import (
	"fmt"
	"time"
)

// Cache configures the answer cache in front of the upstreams. Zero fields
// take the defaults of WithDefaults.
type Cache struct {
	// Disabled turns the cache off.
	Disabled bool `json:"disabled,omitempty"`
	// MaxBytes bounds the memory held by cached answers. Default 256MiB.
	MaxBytes ByteSize `json:"max_bytes,omitempty"`
	// MaxEntries bounds the number of cached answers. Default 100000.
	MaxEntries int `json:"max_entries,omitempty"`
	// TTL is how long each kind of answer stays fresh.
	TTL CacheTTL `json:"ttl,omitempty"`
	// MaxEntryBytes caps one cached answer; larger ones are served but not
	// kept. Default 4MiB.
	MaxEntryBytes ByteSize `json:"max_entry_bytes,omitempty"`
	// StaleWindow is how long past its TTL an answer may still be served
	// when the upstream fails. Default 10m.
	StaleWindow Duration `json:"stale_window,omitempty"`
	// Shared is the optional second tier on Redis or Valkey that the
	// replicas of a deployment share.
	Shared CacheShared `json:"shared,omitempty"`
}

// CacheTTL holds a freshness lifetime per kind of answer.
type CacheTTL struct {
	// Tags is for tag listings. Default 30s.
	Tags Duration `json:"tags,omitempty"`
	// Repositories is for repository listings. Default 1m.
	Repositories Duration `json:"repositories,omitempty"`
	// Manifests is for manifests, digests and configs read by tag, which
	// can move. Anything read by digest is immutable and stays until the LRU
	// evicts it. Default 30s.
	Manifests Duration `json:"manifests,omitempty"`
	// Negative is for "not found" answers. Default 5s.
	Negative Duration `json:"negative,omitempty"`
}

// WithDefaults returns c with every zero field set to its default.
func (c Cache) WithDefaults() Cache {
	set := func(d *Duration, def time.Duration) {
		if *d == 0 {
			*d = Duration(def)
		}
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 256 << 20
	}
	if c.MaxEntries == 0 {
		c.MaxEntries = 100000
	}
	if c.MaxEntryBytes == 0 {
		c.MaxEntryBytes = min(4<<20, c.MaxBytes)
	}
	set(&c.TTL.Tags, 30*time.Second)
	set(&c.TTL.Repositories, time.Minute)
	set(&c.TTL.Manifests, 30*time.Second)
	set(&c.TTL.Negative, 5*time.Second)
	set(&c.StaleWindow, 10*time.Minute)
	if c.Shared.Prefix == "" {
		c.Shared.Prefix = DefaultSharedPrefix
	}
	set(&c.Shared.Timeout, DefaultSharedTimeout)
	set(&c.Shared.Lease, DefaultSharedLease)
	return c
}

func (c Cache) validate() error {
	if c.MaxEntries < 0 {
		return fmt.Errorf("max_entries %d: must not be negative", c.MaxEntries)
	}
	if err := c.Shared.validate(); err != nil {
		return fmt.Errorf("shared: %w", err)
	}
	return nil
}
