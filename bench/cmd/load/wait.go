package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// runWait polls -url until it answers with a status below 500.
func runWait(ctx context.Context, fs *flag.FlagSet, args []string, _ *output) error {
	rawURL := fs.String("url", "", "URL to poll")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(*rawURL); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		status, _, err := get(ctx, c, *rawURL, nil)
		if err == nil && status < 500 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not up after %s (last status %d, err %w)", *rawURL, *timeout, status, err)
		case <-tick.C:
		}
	}
}

// runFreePort prints a TCP port free on 127.0.0.1 right now, for servers
// that need a port in a configuration file.
func runFreePort(_ context.Context, fs *flag.FlagSet, args []string, _ *output) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer func() { _ = ln.Close() }() // only its port was wanted
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return errors.New("not a TCP address")
	}
	fmt.Println(addr.Port)
	return nil
}

// runGet prints -url's body, or with -show-header that header's value; it
// fails on any status but 200.
func runGet(ctx context.Context, fs *flag.FlagSet, args []string, out *output) error {
	rawURL := fs.String("url", "", "URL to fetch")
	show := fs.String("show-header", "", "print this response header instead of the body")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(*rawURL); err != nil {
		return err
	}
	c := &http.Client{Timeout: *timeout}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *rawURL, nil)
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }() // read-only: nothing to lose
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", *rawURL, res.Status)
	}
	if *show != "" {
		out.println(res.Header.Get(*show))
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	_, err = io.Copy(out.w, res.Body)
	return err
}
