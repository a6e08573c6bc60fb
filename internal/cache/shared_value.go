package cache

import (
	"context"
	"time"
)

// opValue is the operation part of keys written by SetShared.
const opValue = "x"

// GetShared returns the bytes SetShared stored under name for loc (an
// upstream name, or upstream name and repository path), or false when the
// shared tier has none, is down or is not configured. It is the hook for
// answers the cache does not know itself (derived rows of the HTTP layer);
// callers check what they read back as they would any cached input.
func (c *Cache) GetShared(ctx context.Context, loc, name string) ([]byte, bool) {
	if c.shared == nil || !c.shared.up() {
		return nil, false
	}
	var b []byte
	err := c.shared.call(ctx, callGet, func(ctx context.Context) error {
		var err error
		// A range: at most one byte past the cap is read, whatever the
		// server holds under the key.
		b, err = c.shared.rdb.GetRange(ctx, c.shared.entryKey(valueKey(loc, name)), 0, c.o.maxEntryBytes).Bytes()
		return err
	})
	if err != nil || len(b) == 0 || int64(len(b)) > c.o.maxEntryBytes {
		return nil, false
	}
	return b, true
}

// SetShared stores val under name for loc for ttl, bounded like every call
// to the shared tier; a value above the entry size cap is not stored. Purge
// drops it with the rest of loc's entries; writes to loc do not, so values
// that a push can change need a short ttl or a digest in their name.
func (c *Cache) SetShared(ctx context.Context, loc, name string, val []byte, ttl time.Duration) {
	if c.shared == nil || !c.shared.up() || ttl <= 0 || int64(len(val)) > c.o.maxEntryBytes {
		return
	}
	// Best effort: call counts a failure and marks the tier down.
	_ = c.shared.call(ctx, callSet, func(ctx context.Context) error {
		return c.shared.rdb.Set(ctx, c.shared.entryKey(valueKey(loc, name)), val, ttl).Err()
	})
}

// valueKey is laid out as the client's keys are, so that Purge matches it.
func valueKey(loc, name string) string { return loc + "\x00" + opValue + "\x00" + name }
