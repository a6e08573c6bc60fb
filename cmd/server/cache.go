package main

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/config"
)

// cacheOptions lays the cache flags over the file's cache section: a flag
// (or its variable) that was set wins, else the file, else the defaults.
func cacheOptions(file config.Cache, set map[string]bool, disabled bool, maxBytes string, stale time.Duration) (config.Cache, error) {
	c := file
	if set["cache-disabled"] {
		c.Disabled = disabled
	}
	if set["cache-max-bytes"] {
		n, err := config.ParseByteSize(maxBytes)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("cache max bytes %q: want a positive size such as 512MiB", maxBytes)
		}
		c.MaxBytes = n
	}
	if set["cache-stale-window"] {
		if stale < 0 {
			return c, fmt.Errorf("cache stale window %s: must not be negative", stale)
		}
		c.StaleWindow = config.Duration(stale)
	}
	return c.WithDefaults(), nil
}

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
