package main

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// runRate sends GET -url from -c workers for -d or until -n requests,
// whichever comes first, and reports requests per second. It stands in for
// wrk where wrk is not installed; wrk costs less CPU per request, which
// matters on a small machine where client and server share the cores.
func runRate(ctx context.Context, fs *flag.FlagSet, args []string, out *output) error {
	rawURL := fs.String("url", "", "URL to request")
	conns := fs.Int("c", 16, "concurrent connections")
	dur := fs.Duration("d", 5*time.Second, "duration")
	limit := fs.Int64("n", 2_000_000, "maximum requests")
	header := headerFlags{}
	fs.Var(header, "H", "request header `Name: value` (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(*rawURL); err != nil {
		return err
	}
	if *conns < 1 || *dur <= 0 || *limit < 1 {
		return errors.New("-c, -d and -n must be positive")
	}
	c := &http.Client{Transport: newTransport(*conns), Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()

	var sent, failed, bytes atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range *conns {
		wg.Go(func() {
			for ctx.Err() == nil && sent.Add(1) <= *limit {
				status, n, err := get(ctx, c, *rawURL, http.Header(header))
				if ctx.Err() != nil {
					sent.Add(-1) // cut by the deadline, not an answer
					return
				}
				if err != nil || status != http.StatusOK {
					failed.Add(1)
				}
				bytes.Add(n)
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	done := min(sent.Load(), *limit)
	out.set("requests", "%d", done)
	out.set("errors", "%d", failed.Load())
	out.set("seconds", "%.2f", secs)
	out.set("rps", "%.0f", float64(done)/secs)
	out.set("bytes_per_req", "%d", bytes.Load()/max(done, 1))
	return nil
}
