package handlers

import (
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/regapi/regapi/internal/registry"
)

// scopedEntries bounds how many repository-scoped clients are kept.
const scopedEntries = 1024

// scopedClients keeps the clients of recently used repositories, so that a
// request for a repository seen before does not build its client again
// (WithSegment validates the path and allocates a client, and the cache a
// wrapper, on every call: a few percent of a cached answer's CPU). Clients
// are immutable, so sharing one between requests is safe.
type scopedClients struct {
	mu  sync.Mutex
	lru *simplelru.LRU[scopedKey, registry.Client]
}

type scopedKey struct{ registry, repository string }

// newScopedClients returns an empty set; evicted, if not nil, is called
// for each client evicted to stay within scopedEntries.
func newScopedClients(evicted func()) *scopedClients {
	var onEvict simplelru.EvictCallback[scopedKey, registry.Client]
	if evicted != nil {
		// Clients are never removed on purpose: every call is an eviction.
		onEvict = func(scopedKey, registry.Client) { evicted() }
	}
	l, _ := simplelru.NewLRU(scopedEntries, onEvict)
	return &scopedClients{lru: l}
}

// get returns up's client scoped to repository, building it from segments
// when it is not kept. A nil receiver builds every time.
func (s *scopedClients) get(up Upstream, repository string, segments func() []string) registry.Client {
	if s == nil {
		return up.Client.WithSegment(segments()...)
	}
	key := scopedKey{up.Name, repository}
	s.mu.Lock()
	c, ok := s.lru.Get(key)
	s.mu.Unlock()
	if ok {
		return c
	}
	c = up.Client.WithSegment(segments()...)
	s.mu.Lock()
	s.lru.Add(key, c)
	s.mu.Unlock()
	return c
}
