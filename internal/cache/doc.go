// Package cache keeps registry answers in memory in front of a
// registry.Client: an LRU bounded by entries and bytes, with TTLs for
// tag-addressed answers, merged concurrent misses and stale-if-error.
// It knows nothing about HTTP.
package cache
