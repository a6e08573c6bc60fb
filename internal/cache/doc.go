// Package cache keeps registry answers in memory in front of a
// registry.Client: an LRU bounded by entries and bytes, with TTLs for
// tag-addressed answers, merged concurrent misses and stale-if-error.
// It knows nothing about HTTP.
//
// Cache.Wrap returns a registry.Client with the same contract. Every key
// starts with the upstream's name and the client's repository path, so
// answers of two upstreams never collide and Purge can drop one upstream or
// one repository subtree. A tag resolves through a tag-to-digest entry that
// lasts the tag TTL; the manifest, the config blob and an index's children
// are then entries keyed by digest that never expire and leave only by LRU
// eviction or purge. Tag and repository listings expire after their own
// TTLs; not-found answers after the negative TTL. An expired tag whose
// manifest is still held is revalidated with a HEAD. A referrers list is
// keyed by its subject's digest but lasts only the tag TTL: signing an
// image changes it. A config miss hands the held manifest to the client
// (registry.WithManifest), which then fetches the config blob alone.
//
// Each lookup reports HIT, MISS or STALE into the request's Outcome (see
// WithOutcome), which the HTTP layer turns into X-Cache and Age headers.
package cache
