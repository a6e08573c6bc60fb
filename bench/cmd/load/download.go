package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// runDownload streams GET -url to nowhere and reports bytes per second. With
// -pid it samples that process's resident memory every 10 ms meanwhile and
// reports its idle value before the request and the highest sample.
func runDownload(ctx context.Context, fs *flag.FlagSet, args []string, out *output) error {
	rawURL := fs.String("url", "", "URL to download")
	pid := fs.Int("pid", 0, "process whose memory to sample (0: none)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(*rawURL); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	var idle int64
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	if *pid > 0 {
		var err error
		if idle, err = statusKiB(*pid, "VmRSS"); err != nil {
			return err
		}
		peak.Store(idle)
		go func() {
			defer close(sampled)
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					if v, err := statusKiB(*pid, "VmRSS"); err == nil && v > peak.Load() {
						peak.Store(v)
					}
				}
			}
		}()
	} else {
		close(sampled)
	}

	c := &http.Client{Transport: newTransport(1)}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *rawURL, nil)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }() // read-only: the copy reports read errors
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", *rawURL, res.Status, body)
	}
	n, err := io.CopyBuffer(io.Discard, res.Body, make([]byte, 256<<10))
	secs := time.Since(start).Seconds()
	close(stop)
	<-sampled
	if err != nil {
		return fmt.Errorf("GET %s: after %d bytes: %w", *rawURL, n, err)
	}
	out.set("bytes", "%d", n)
	out.set("seconds", "%.6f", secs)
	out.set("mb_per_s", "%.1f", float64(n)/secs/1e6)
	if *pid > 0 {
		out.set("idle_rss_kib", "%d", idle)
		out.set("peak_rss_kib", "%d", peak.Load())
	}
	return nil
}

// runRSS prints a process's VmRSS and VmHWM (peak) in KiB.
func runRSS(_ context.Context, fs *flag.FlagSet, args []string, out *output) error {
	pid := fs.Int("pid", 0, "process id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pid <= 0 {
		return errors.New("-pid is required")
	}
	for _, field := range []string{"VmRSS", "VmHWM"} {
		v, err := statusKiB(*pid, field)
		if err != nil {
			return err
		}
		out.set(strings.ToLower(field)+"_kib", "%d", v)
	}
	return nil
}

// statusKiB reads one "Field:   N kB" line of /proc/PID/status.
func statusKiB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid)) //nolint:gosec // G703: an int formatted into a fixed /proc path
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && k == field {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}
