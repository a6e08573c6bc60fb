// Command countproxy is a reverse proxy that counts the requests it passes
// to a registry, by kind (the /v2/ ping, manifests, blobs, tag lists,
// anything else). The benchmark puts it between regapi and the registry to
// see how many upstream requests a burst of identical client requests
// causes. GET /_count answers the counts as key=value lines.
//
// It prints "countproxy listening on http://ADDR" once ready.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/regapi/regapi/bench/internal/serve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "countproxy:", err)
		os.Exit(1)
	}
}

// kinds are the request classes counted, in output order.
var kinds = []string{"ping", "manifests", "blobs", "tags", "other"}

// kindOf classifies a registry API path.
func kindOf(path string) string {
	switch {
	case path == "/v2/" || path == "/v2":
		return "ping"
	case strings.Contains(path, "/manifests/"):
		return "manifests"
	case strings.Contains(path, "/blobs/"):
		return "blobs"
	case strings.HasSuffix(path, "/tags/list"):
		return "tags"
	}
	return "other"
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("countproxy", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve on (loopback only)")
	target := fs.String("target", "", "registry base `URL` (http://127.0.0.1:PORT)")
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

	counts := map[string]*atomic.Int64{}
	for _, k := range kinds {
		counts[k] = new(atomic.Int64)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	proxy.Transport = tr
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_count", func(w http.ResponseWriter, _ *http.Request) {
		var total int64
		for _, k := range kinds {
			n := counts[k].Load()
			total += n
			_, _ = fmt.Fprintf(w, "%s=%d\n", k, n) // a failed write: the client has gone
		}
		_, _ = fmt.Fprintf(w, "total=%d\n", total)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		counts[kindOf(r.URL.Path)].Add(1)
		proxy.ServeHTTP(w, r)
	})

	return serve.Run(ctx, "countproxy", *listen, mux, stdout)
}
