// Command relay is the second-hop anchor of the benchmarks: a bare
// httputil.ReverseProxy in front of the registry, with a keep-alive
// transport tuned as a production proxy would be (64 idle connections per
// host, as regapi's own registry client has). Cold requests through it cost
// what any extra HTTP hop costs on the machine, the floor under regapi's
// cache-miss latency.
//
// It prints "relay listening on http://ADDR" once ready and serves until
// interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/regapi/regapi/bench/internal/serve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve on (loopback only)")
	target := fs.String("target", "", "upstream base `URL` (http://127.0.0.1:PORT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := serve.LoopbackTarget(*target)
	if err != nil {
		return err
	}
	if err := serve.CheckListen(*listen); err != nil {
		return err
	}
	return serve.Run(ctx, "relay", *listen, newProxy(u), stdout)
}

// newProxy is a reverse proxy to target with a keep-alive transport.
func newProxy(target *url.URL) *httputil.ReverseProxy {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 64
	// Pass bodies through as the upstream encodes them: no gzip added
	// upstream and undone here.
	tr.DisableCompression = true
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.SetXForwarded()
		},
		Transport: tr,
	}
}
