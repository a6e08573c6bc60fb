package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pushSecret is the push token of startStallServer's configuration.
const pushSecret = "push-token-0123456789abcdef"

// startStallServer runs regapi on the demo with a push token and extra
// flags.
func startStallServer(t *testing.T, extra ...string) *running {
	t.Helper()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "regapi.yaml", `
allow_anonymous: true
tokens:
  - name: ci
    secret_env: PUSH_TOKEN
    scopes: [{registry: demo, repositories: ["**"], actions: [push]}]
`)
	args := append([]string{"--listen", "127.0.0.1:0", "--demo", "--config", cfg, "--shutdown-grace", "1s", "--spool-dir", dir}, extra...)
	return startRun(t, map[string]string{"PUSH_TOKEN": pushSecret}, args...)
}

// rawConn dials r's address; every read and write fails after a minute,
// so a test fails instead of hanging when the server holds on.
func rawConn(t *testing.T, base string) net.Conn {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() }) // the test may have closed it already
	return c
}

// sendHead writes a request head announcing a body of length bytes, sends
// body (possibly less than announced) and nothing more.
func sendHead(t *testing.T, c net.Conn, method, path, token string, length int, body string, extra ...string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: regapi\r\nContent-Length: %d\r\n", method, path, length)
	if token != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", token)
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n" + body)
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
}

// readAnswer reads one response from c and then expects the server to
// close the connection.
func readAnswer(t *testing.T, c net.Conn, br *bufio.Reader, what string) *http.Response {
	t.Helper()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%s: no answer: %v", what, err)
	}
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		t.Errorf("%s: read the answer: %v", what, err)
	}
	res.Body.Close()
	// Closed: an end of stream, or a reset when the client was still
	// sending when the server closed (a dribbling upload).
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("%s: connection still open after the answer (read: %v), want it closed", what, err)
	}
	return res
}

// TestRunStalledBodies: a body that never comes holds no connection. On a
// route that takes no body it is ignored and the connection closed after
// the answer; copy and sync answer 401/403 before reading a body; a body
// that stalls is answered 408 within --body-timeout and its connection
// closed; an upload that stalls or dribbles below --upload-min-rate ends
// the same way.
func TestRunStalledBodies(t *testing.T) {
	r := startStallServer(t, "--body-timeout", "1s", "--upload-idle-timeout", "1s", "--upload-min-rate", "1KiB")
	tests := []struct {
		name, method, path, token string
		body                      string
		dribble                   bool
		want                      int
		wantCode                  string
	}{
		{name: "healthz with a body", method: "GET", path: "/healthz", want: 200},
		{name: "tags with a body", method: "GET", path: "/api/v1/repos/demo/library/alpine/-/tags", want: 200},
		{name: "copy without a token", method: "POST", path: "/api/v1/copy", want: 401, wantCode: "UNAUTHORIZED"},
		{name: "sync without a token", method: "POST", path: "/api/v1/sync", want: 401, wantCode: "UNAUTHORIZED"},
		{name: "copy, body stalls", method: "POST", path: "/api/v1/copy", token: pushSecret, body: `{"source":`, want: 408, wantCode: "REQUEST_TIMEOUT"},
		{name: "sync, body stalls", method: "POST", path: "/api/v1/sync", token: pushSecret, want: 408, wantCode: "REQUEST_TIMEOUT"},
		{name: "upload, body stalls", method: "PUT", path: "/api/v1/repos/demo/stall/-/images/v1", token: pushSecret, body: "0123456789", want: 408, wantCode: "REQUEST_TIMEOUT"},
		{name: "upload dribbles", method: "PUT", path: "/api/v1/repos/demo/stall/-/images/v2", token: pushSecret, dribble: true, want: 408, wantCode: "REQUEST_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := rawConn(t, r.base)
			sendHead(t, c, tt.method, tt.path, tt.token, 100000, tt.body)
			if tt.dribble {
				// A byte every 50 ms, never idle for a second, far below
				// 1 KiB/s: only the rate rule can end it.
				stop := make(chan struct{})
				defer close(stop)
				go func() {
					tick := time.NewTicker(50 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
							if _, err := c.Write([]byte{'x'}); err != nil {
								return
							}
						}
					}
				}()
			}
			res := readAnswer(t, c, bufio.NewReader(c), tt.name)
			if res.StatusCode != tt.want {
				t.Errorf("status = %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
}

// TestRunConnectionCap: --max-connections caps the connections served at
// once; one more waits to be accepted until a slot frees.
func TestRunConnectionCap(t *testing.T) {
	const max = 4
	r := startStallServer(t, "--max-connections", fmt.Sprint(max), "--body-timeout", "1m")
	held := make([]net.Conn, max)
	for i := range held {
		c := rawConn(t, r.base)
		// The 100 Continue proves the connection was accepted and its
		// handler is waiting for the body.
		sendHead(t, c, "POST", "/api/v1/copy", pushSecret, 100, "", "Expect: 100-continue")
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
			t.Fatalf("held connection %d: got %q, %v; want 100 Continue", i, line, err)
		}
		held[i] = c
	}

	extra := rawConn(t, r.base)
	if _, err := io.WriteString(extra, "GET /healthz HTTP/1.1\r\nHost: regapi\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(extra)
	// Not served while the cap is taken: a broken cap answers in
	// microseconds, well inside this window.
	if err := extra.SetReadDeadline(time.Now().Add(300 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := br.ReadByte(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a connection over the cap was served (read: %v)", err)
	}
	if err := held[0].Close(); err != nil {
		t.Fatal(err)
	}
	if err := extra.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("over the cap, after a slot freed: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("healthz = %d, want 200", res.StatusCode)
	}
}

// TestRunManyStalledConnections: 5,000 connections whose bodies stall do
// not stop the server answering /healthz, and are all counted open.
func TestRunManyStalledConnections(t *testing.T) {
	const n = 5000
	r := startStallServer(t, "--body-timeout", "1m")
	for range n { // rawConn's cleanup closes them
		c := rawConn(t, r.base)
		sendHead(t, c, "POST", "/api/v1/sync", pushSecret, 100000, "{")
	}
	c := &http.Client{Timeout: time.Minute}
	if status, _, _ := get(t, c, http.MethodGet, r.base+"/healthz"); status != http.StatusOK {
		t.Fatalf("healthz under %d stalled connections = %d, want 200", n, status)
	}
	_, metrics, _ := get(t, c, http.MethodGet, r.base+"/metrics")
	open := metricValue(t, string(metrics), "regapi_http_connections_open")
	if open < n {
		t.Errorf("regapi_http_connections_open = %v, want at least %d", open, n)
	}
	if limit := metricValue(t, string(metrics), "regapi_http_connections_limit"); limit < n {
		t.Errorf("regapi_http_connections_limit = %v: the default cap is below %d", limit, n)
	}
}

// metricValue returns the value of the unlabelled series name in a scrape.
func metricValue(t *testing.T, scrape, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(scrape, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in the scrape", name)
	return 0
}
