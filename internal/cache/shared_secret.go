package cache

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ErrNoSharedTier is SharedSecret's answer when the cache has no shared
// tier, or the tier was skipped because it failed less than a second ago.
var ErrNoSharedTier = errors.New("shared tier not configured or down")

// getOrStore returns the value at KEYS[1], storing ARGV[1] there first
// when there is none; one script, so that two replicas starting together
// store one value between them. What it returns is cut at ARGV[2] bytes,
// so that a huge value under the key is never read whole.
var getOrStore = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if not v then
  redis.call("SET", KEYS[1], ARGV[1])
  return ARGV[1]
end
return string.sub(v, 1, tonumber(ARGV[2]))`)

// SharedSecret returns the secret the shared tier holds under name,
// storing candidate there first when it holds none: every replica of a
// deployment gets the secret the first one stored. It is kept without
// expiry and no purge deletes it; a value of another length than
// candidate's is an error, never returned. The call is bounded like every
// call to the tier; an error (ErrNoSharedTier, a failure or timeout) means
// the caller goes on without the tier and asks again later. Errors never
// hold the secret.
func (c *Cache) SharedSecret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	if c.shared == nil || !c.shared.up() {
		return nil, ErrNoSharedTier
	}
	if len(candidate) == 0 {
		return nil, fmt.Errorf("shared secret %s: empty candidate", name)
	}
	s := c.shared
	var v string
	err := s.call(ctx, callSet, func(ctx context.Context) error {
		var err error
		v, err = getOrStore.Run(ctx, s.rdb, []string{s.prefix + nsSecret + name}, candidate, len(candidate)+1).Text()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("shared secret %s: %w", name, err)
	}
	if len(v) != len(candidate) {
		return nil, fmt.Errorf("shared secret %s: the server's value is not %d bytes long", name, len(candidate))
	}
	return []byte(v), nil
}
