package config

// Cache configures the answer cache in front of the upstreams.
type Cache struct {
	// Disabled turns the cache off.
	Disabled bool `json:"disabled,omitempty"`
	// MaxBytes bounds the memory held by cached answers.
	MaxBytes ByteSize `json:"max_bytes,omitempty"`
	// MaxEntries bounds the number of cached answers.
	MaxEntries int `json:"max_entries,omitempty"`
	// TTL is how long each kind of answer stays fresh.
	TTL CacheTTL `json:"ttl,omitempty"`
	// MaxEntryBytes caps one cached answer; larger ones are served but not
	// kept.
	MaxEntryBytes ByteSize `json:"max_entry_bytes,omitempty"`
	// StaleWindow is how long past its TTL an answer may still be served
	// when the upstream fails.
	StaleWindow Duration `json:"stale_window,omitempty"`
	// Shared is the optional second tier on Redis or Valkey that the
	// replicas of a deployment share.
	Shared CacheShared `json:"shared,omitempty"`
}

// CacheTTL holds a freshness lifetime per kind of answer.
type CacheTTL struct {
	// Tags is for tag listings.
	Tags Duration `json:"tags,omitempty"`
	// Repositories is for repository listings.
	Repositories Duration `json:"repositories,omitempty"`
	// Manifests is for manifests, digests and configs read by tag, which
	// can move. Anything read by digest is immutable and stays until the LRU
	// evicts it.
	Manifests Duration `json:"manifests,omitempty"`
	// Negative is for "not found" answers.
	Negative Duration `json:"negative,omitempty"`
}
