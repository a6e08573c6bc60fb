// Command load is the benchmark's Go client: it waits for servers, measures
// throughput (when wrk is not installed), paired cold-request latency,
// bursts of identical concurrent requests and streamed downloads with the
// server's resident memory. Every mode is bounded in requests and time and
// talks to 127.0.0.1 only. Results are key=value lines on stdout, each key
// prefixed with -prefix, for bench/run.sh to collect.
//
// Usage: load MODE [flags]; modes: wait, freeport, get, rate, latency, burst,
// download, rss.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// modes maps each mode to its implementation.
var modes = map[string]func(ctx context.Context, fs *flag.FlagSet, args []string, out *output) error{
	"wait":     runWait,
	"freeport": runFreePort,
	"get":      runGet,
	"rate":     runRate,
	"latency":  runLatency,
	"burst":    runBurst,
	"download": runDownload,
	"rss":      runRSS,
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || modes[args[0]] == nil {
		return errors.New("usage: load wait|freeport|get|rate|latency|burst|download|rss [flags]")
	}
	fs := flag.NewFlagSet("load "+args[0], flag.ContinueOnError)
	out := &output{w: stdout}
	fs.StringVar(&out.prefix, "prefix", "", "prefix for every output key")
	if err := modes[args[0]](ctx, fs, args[1:], out); err != nil {
		return err
	}
	return out.err
}

// output writes key=value lines. The scripts read them, so the first
// failed write is kept and fails the run.
type output struct {
	w      io.Writer
	prefix string
	err    error
}

func (o *output) set(key string, format string, v ...any) {
	o.println(o.prefix + key + "=" + fmt.Sprintf(format, v...))
}

// println writes one line unless a write failed before.
func (o *output) println(line string) {
	if o.err == nil {
		_, o.err = fmt.Fprintln(o.w, line)
	}
}

// headerFlags collects repeated -H "Name: value" flags.
type headerFlags http.Header

func (h headerFlags) String() string { return "" }
func (h headerFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	if !ok {
		return fmt.Errorf("header %q: want Name: value", s)
	}
	http.Header(h).Add(strings.TrimSpace(k), strings.TrimSpace(v))
	return nil
}

// checkLoopback refuses any URL that is not plain HTTP on 127.0.0.1.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("url %q: want http://127.0.0.1:PORT/…", raw)
	}
	return nil
}

// newTransport is a keep-alive transport for up to conns connections.
func newTransport(conns int) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns
	tr.MaxIdleConnsPerHost = conns
	tr.DisableCompression = true
	return tr
}

// get sends GET url with header on c and discards the body, returning the
// status and the number of body bytes.
func get(ctx context.Context, c *http.Client, rawURL string, header http.Header) (int, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, 0, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = res.Body.Close() }() // read-only: nothing to lose
	n, err := io.Copy(io.Discard, res.Body)
	return res.StatusCode, n, err
}
