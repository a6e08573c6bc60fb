package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regapi/regapi/internal/config"
	"github.com/regapi/regapi/internal/registry/registrytest"
	"github.com/regapi/regapi/internal/telemetry"
)

// tlsCounter is a TCP front for a plain-HTTP registry that counts the
// connections opening with a TLS handshake (record type 0x16) and forwards
// the others.
type tlsCounter struct {
	addr      string
	handshake atomic.Int64
	plain     atomic.Int64
}

func startTLSCounter(t *testing.T, target string) *tlsCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &tlsCounter{addr: ln.Addr().String()}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
	)
	// The relay's conns are closed twice (by forward and here), so their
	// Close errors say nothing; the test counts what passed through.
	t.Cleanup(func() {
		if err := ln.Close(); err != nil {
			t.Error(err)
		}
		mu.Lock()
		closed = true
		for _, conn := range conns {
			_ = conn.Close() // idle keep-alive connections of the clients
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			if closed {
				_ = conn.Close() // see the cleanup
			}
			mu.Unlock()
			wg.Go(func() { c.forward(conn, target) })
		}
	})
	return c
}

// forward relays conn to target. A relay's copies end when either side
// closes, so their errors, and the closes', say nothing here.
func (c *tlsCounter) forward(conn net.Conn, target string) {
	defer func() { _ = conn.Close() }()
	first := make([]byte, 1)
	if _, err := io.ReadFull(conn, first); err != nil {
		return
	}
	if first[0] == 0x16 {
		c.handshake.Add(1)
		return
	}
	c.plain.Add(1)
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer func() { _ = up.Close() }()
	if _, err := up.Write(first); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(up, conn)
		_ = up.(*net.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(conn, up)
	_ = conn.Close()
	<-done
}

// TestInsecureUpstreamPingsPlainHTTP: an http:// upstream is pinged (and
// read) over plain HTTP only: no TLS handshake reaches it and no upstream
// failure is logged, however many fresh clients ping it.
func TestInsecureUpstreamPingsPlainHTTP(t *testing.T) {
	dist := registrytest.StartDistribution(t, nil)
	registrytest.PushRandomImage(t, dist.Host, "library/app", "v1")
	front := startTLSCounter(t, dist.Host)

	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	metrics, err := telemetry.NewMetrics(prometheus.NewRegistry(), telemetry.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		up := newUpstream(config.Upstream{Name: "plain", Endpoint: config.Endpoint{Host: front.addr, Insecure: true}},
			defaultSettings(t).Timeouts, logger, metrics)
		if _, err := up.Client.WithSegment("library/app").GetDigest(context.Background(), "v1"); err != nil {
			t.Fatalf("GetDigest: %v", err)
		}
	}
	if n, p := front.handshake.Load(), front.plain.Load(); n != 0 || p == 0 {
		t.Errorf("the upstream saw %d TLS handshakes and %d plain connections, want 0 and some", n, p)
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("pinging a plain-HTTP upstream logged a warning:\n%s", logs)
	}
}
