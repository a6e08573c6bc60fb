package registry

import (
	"context"
	"time"
)

// SetRetrySleep replaces how c (and every client sharing its state) waits
// between retries, so that tests record delays instead of sleeping. Call it
// before the first request.
func SetRetrySleep(c Client, sleep func(ctx context.Context, d time.Duration) error) {
	c.(*client).s.retry.sleep = sleep
}
