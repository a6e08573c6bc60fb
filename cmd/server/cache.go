package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/config"
)

// newCache builds the answer cache from its configuration, or returns nil
// when the configuration turns it off.
func newCache(c config.Cache, reg prometheus.Registerer) (*cache.Cache, error) {
	if c.Disabled {
		return nil, nil
	}
	return cache.New(
		cache.WithMaxBytes(int64(c.MaxBytes)),
		cache.WithMaxEntries(c.MaxEntries),
		cache.WithMaxEntryBytes(int64(c.MaxEntryBytes)),
		cache.WithTagTTL(time.Duration(c.TTL.Manifests)),
		cache.WithTagListTTL(time.Duration(c.TTL.Tags)),
		cache.WithRepoListTTL(time.Duration(c.TTL.Repositories)),
		cache.WithNegativeTTL(time.Duration(c.TTL.Negative)),
		cache.WithStaleWindow(time.Duration(c.StaleWindow)),
		cache.WithRegisterer(reg),
	)
}
