package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

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

// sharedOptions lays --cache-shared-url and --cache-shared-password-file
// over the file's cache.shared. A URL given as a flag or variable is checked
// as the file's is: a password in it is refused (flags show in process
// lists, variables in pod specs), pointing to the file settings.
func sharedOptions(c config.Cache, set map[string]bool, url, passwordFile string) (config.Cache, error) {
	if set["cache-shared-url"] {
		if err := config.CheckSharedURL(url); err != nil {
			return c, fmt.Errorf("--cache-shared-url: %w", err)
		}
		c.Shared.URL = url
	}
	if set["cache-shared-password-file"] {
		if err := c.Shared.ResolvePasswordFile(passwordFile); err != nil {
			return c, fmt.Errorf("--cache-shared-password-file: %w", err)
		}
	}
	return c, nil
}

// newCache builds the answer cache from its configuration, or returns nil
// when the configuration turns it off.
func newCache(c config.Cache, reg prometheus.Registerer) (*cache.Cache, error) {
	if c.Disabled {
		return nil, nil
	}
	opts := []cache.Option{
		cache.WithMaxBytes(int64(c.MaxBytes)),
		cache.WithMaxEntries(c.MaxEntries),
		cache.WithMaxEntryBytes(int64(c.MaxEntryBytes)),
		cache.WithTagTTL(time.Duration(c.TTL.Manifests)),
		cache.WithTagListTTL(time.Duration(c.TTL.Tags)),
		cache.WithRepoListTTL(time.Duration(c.TTL.Repositories)),
		cache.WithNegativeTTL(time.Duration(c.TTL.Negative)),
		cache.WithStaleWindow(time.Duration(c.StaleWindow)),
		cache.WithRegisterer(reg),
	}
	if s := c.Shared; s.URL != "" {
		opts = append(opts,
			cache.WithShared(s.URL, s.ResolvedUsername, string(s.ResolvedPassword)),
			cache.WithSharedPrefix(s.Prefix),
			cache.WithSharedTimeout(time.Duration(s.Timeout)),
			cache.WithSharedLease(time.Duration(s.Lease)),
		)
	}
	return cache.New(opts...)
}

// redisLogs routes the Redis client's own log lines (a pub/sub connection
// dropped and reconnected, say) into the service's log. The client keeps its
// logger in a package variable, set once; the logger it writes to is the
// latest run's (tests run several).
var (
	redisLogs  sync.Once
	redisLogTo atomic.Pointer[slog.Logger]
)

// redisLogger is the Redis client's logging interface over slog. Its lines
// name connections and errors, never credentials.
type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if l := redisLogTo.Load(); l != nil {
		l.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "redis")
	}
}

// logRedis sends the Redis client's log lines to logger.
func logRedis(logger *slog.Logger) {
	redisLogTo.Store(logger)
	redisLogs.Do(func() { redis.SetLogger(redisLogger{}) })
}
