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

// runBurst sends -n identical GET -url requests at once. Each request has a
// connection of its own, opened beforehand with a request to -warm, so that
// all of them reach the server together rather than as fast as connections
// can be dialled.
func runBurst(ctx context.Context, fs *flag.FlagSet, args []string, out *output) error {
	rawURL := fs.String("url", "", "URL every request asks for")
	warm := fs.String("warm", "", "URL to open each connection with (e.g. /healthz)")
	n := fs.Int("n", 200, "concurrent requests")
	header := headerFlags{}
	fs.Var(header, "H", "request header `Name: value` (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, u := range []string{*rawURL, *warm} {
		if err := checkLoopback(u); err != nil {
			return err
		}
	}
	if *n < 1 || *n > 2000 {
		return errors.New("-n must be 1 to 2000")
	}
	clients := make([]*http.Client, *n)
	for i := range clients {
		clients[i] = &http.Client{Transport: newTransport(1), Timeout: 30 * time.Second}
		if _, _, err := get(ctx, clients[i], *warm, nil); err != nil {
			return err
		}
	}

	var ok, failed atomic.Int64
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for _, c := range clients {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-start
			status, _, err := get(ctx, c, *rawURL, http.Header(header))
			if err != nil || status != http.StatusOK {
				failed.Add(1)
				return
			}
			ok.Add(1)
		})
	}
	ready.Wait()
	began := time.Now()
	close(start)
	done.Wait()
	out.set("ok", "%d", ok.Load())
	out.set("failed", "%d", failed.Load())
	out.set("ms", "%.1f", ms(time.Since(began)))
	return nil
}
