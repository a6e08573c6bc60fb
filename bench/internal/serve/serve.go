// Package serve runs the benchmark tools' small HTTP servers.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// CheckListen refuses a listen address off 127.0.0.1: the benchmark tools
// serve on loopback only.
func CheckListen(addr string) error {
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		return errors.New("--listen must be on 127.0.0.1")
	}
	return nil
}

// LoopbackTarget parses a --target URL, which must be plain HTTP on
// 127.0.0.1: the benchmark tools talk to loopback only.
func LoopbackTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
		return nil, errors.New("--target must be http://127.0.0.1:PORT")
	}
	return u, nil
}

// Run serves h on addr until ctx ends, after printing
// "<name> listening on http://<addr>" to stdout (run.sh reads the address).
func Run(ctx context.Context, name, addr string, h http.Handler, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	// run.sh reads the address: without it, there is nothing to serve.
	if _, err := fmt.Fprintf(stdout, "%s listening on http://%s\n", name, ln.Addr()); err != nil {
		_ = ln.Close() // never served
		return err
	}
	go func() {
		<-ctx.Done()
		_ = srv.Close() // Serve then returns ErrServerClosed
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
