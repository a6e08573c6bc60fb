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
	// MaxEntries bounds the number of cached answers. Default 10000.
	MaxEntries int `json:"max_entries,omitempty"`
	// TTL is how long each kind of answer stays fresh.
	TTL CacheTTL `json:"ttl,omitempty"`
	// StaleWindow is how long past its TTL an answer may still be served
	// when the upstream fails. Default 5m.
	StaleWindow Duration `json:"stale_window,omitempty"`
}

// CacheTTL holds a freshness lifetime per kind of answer.
type CacheTTL struct {
	// Tags is for tag listings. Default 30s.
	Tags Duration `json:"tags,omitempty"`
	// Repositories is for repository listings. Default 1m.
	Repositories Duration `json:"repositories,omitempty"`
	// Manifests is for manifests and digests read by tag, which can move.
	// Default 30s.
	Manifests Duration `json:"manifests,omitempty"`
	// Immutable is for anything read by digest (manifests, configs), which
	// cannot change. Default 24h.
	Immutable Duration `json:"immutable,omitempty"`
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
		c.MaxEntries = 10000
	}
	set(&c.TTL.Tags, 30*time.Second)
	set(&c.TTL.Repositories, time.Minute)
	set(&c.TTL.Manifests, 30*time.Second)
	set(&c.TTL.Immutable, 24*time.Hour)
	set(&c.TTL.Negative, 5*time.Second)
	set(&c.StaleWindow, 5*time.Minute)
	return c
}

func (c Cache) validate() error {
	if c.MaxEntries < 0 {
		return fmt.Errorf("max_entries %d: must not be negative", c.MaxEntries)
	}
	return nil
}
