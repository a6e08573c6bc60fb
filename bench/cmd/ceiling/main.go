// Command ceiling is the throughput anchor of the benchmarks: a bare
// net/http server that answers fixed bytes from memory. At start it fetches
// each --route's source URL once (regapi's own answer) and from then on
// serves the body and Content-Type it got, so that regapi and the ceiling
// send the same bytes and differ only in the work done per request.
//
// It prints "ceiling listening on http://ADDR" once ready and serves until
// interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/regapi/regapi/bench/internal/serve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
}

// routeFlags collects repeated --route PATH=URL values.
type routeFlags []string

func (r *routeFlags) String() string     { return strings.Join(*r, ",") }
func (r *routeFlags) Set(s string) error { *r = append(*r, s); return nil }

// answer is one fixed response.
type answer struct {
	contentType string
	length      string
	body        []byte
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve on (loopback only)")
	var routes routeFlags
	fs.Var(&routes, "route", "`PATH=URL`: serve URL's body at PATH (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := serve.CheckListen(*listen); err != nil {
		return err
	}
	answers := map[string]answer{}
	for _, r := range routes {
		path, src, ok := strings.Cut(r, "=")
		if !ok || !strings.HasPrefix(path, "/") {
			return fmt.Errorf("--route %q: want /PATH=URL", r)
		}
		a, err := fetch(ctx, src)
		if err != nil {
			return err
		}
		answers[path] = a
	}

	mux := http.NewServeMux()
	for path, a := range answers {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			h := w.Header()
			h["Content-Type"] = []string{a.contentType}
			h["Content-Length"] = []string{a.length}
			_, _ = w.Write(a.body)
		})
	}
	return serve.Run(ctx, "ceiling", *listen, mux, stdout)
}

// fetch gets src once and keeps its body and type.
func fetch(ctx context.Context, src string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return answer{}, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer func() { _ = res.Body.Close() }() // read-only: ReadAll reports read errors
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{}, err
	}
	if res.StatusCode != http.StatusOK {
		return answer{}, fmt.Errorf("GET %s: %s: %.200s", src, res.Status, body)
	}
	return answer{contentType: res.Header.Get("Content-Type"), length: strconv.Itoa(len(body)), body: body}, nil
}
