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

// newCache builds the answer cache from its configuration, or returns nil
// when the configuration turns it off.
func newCache(c config.Cache, reg prometheus.Registerer) (*cache.Cache, error) {
	if c.Disabled {
		return nil, nil
	}
	opts := []cache.Option{
		cache.WithMaxBytes(int64(c.MaxBytes)),
		cache.WithMaxEntries(c.MaxEntries),
		cache.WithTagTTL(time.Duration(c.TTL.Manifests)),
		cache.WithTagListTTL(time.Duration(c.TTL.Tags)),
		cache.WithRepoListTTL(time.Duration(c.TTL.Repositories)),
		cache.WithNegativeTTL(time.Duration(c.TTL.Negative)),
		cache.WithStaleWindow(time.Duration(c.StaleWindow)),
		cache.WithRegisterer(reg),
	}
	if c.MaxEntryBytes > 0 { // zero: the cache's default, within MaxBytes
		opts = append(opts, cache.WithMaxEntryBytes(int64(c.MaxEntryBytes)))
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
