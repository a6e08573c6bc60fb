package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/regapi/regapi/internal/cache"
)

// A cache is made once, from the configuration, and wraps each upstream's
// client; the HTTP layer puts an Outcome in each request's context and
// reads the HIT, MISS or STALE the cache reported.
func ExampleNew() {
	c, err := cache.New(
		cache.WithTagTTL(30*time.Second),
		cache.WithMaxBytes(64<<20),
		cache.WithStaleWindow(5*time.Minute),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	// hub := c.Wrap("hub", registry.NewClientWithOptions("registry-1.docker.io", nil))
	ctx, outcome := cache.WithOutcome(context.Background())
	_ = ctx // handlers call hub.WithSegment(repo…).ListTags(ctx) and the like
	status, _ := outcome.Result()
	fmt.Printf("outcome before any lookup: %q\n", status)
	fmt.Println("purged:", c.Purge("hub/library/alpine"))
	// Output:
	// outcome before any lookup: ""
	// purged: 0
}

func ExampleWithMaxEntryBytes() {
	_, err := cache.New(cache.WithMaxBytes(1<<20), cache.WithMaxEntryBytes(2<<20))
	fmt.Println(err)
	// Output: cache: max entry bytes 2097152 exceed max bytes 1048576
}
