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

// SetMaxRepos sets how many repositories c's Puller and Pusher serve before
// they are renewed.
func SetMaxRepos(c Client, n int) {
	r := c.(*client).s.remotes
	r.mu.Lock()
	defer r.mu.Unlock()
	r.maxRepos = n
}
