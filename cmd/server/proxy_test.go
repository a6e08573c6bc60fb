package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRunTrustedProxies: over real loopback connections, with the client
// at 127.0.0.1 trusted as the ingress (REGAPI_TRUSTED_PROXIES), anonymous
// callers it forwards get a rate-limit budget each and the access log names
// them; a caller connecting from 127.0.0.2, which is not trusted, is limited
// and logged by its own address whatever X-Forwarded-For it sends.
func TestRunTrustedProxies(t *testing.T) {
	r := startRun(t, map[string]string{"REGAPI_TRUSTED_PROXIES": "127.0.0.1, ::1"},
		"--listen", "127.0.0.1:0", "--demo", "--rate-limit", "2", "--rate-window", "1h", "--log-flush-interval", "0")
	if !strings.Contains(r.stderr.String(), `"trusted_proxies":"127.0.0.1/32,::1/128"`) {
		t.Errorf("startup log does not list the trusted proxies:\n%s", r.stderr)
	}
	ingress := &http.Client{Timeout: 30 * time.Second}
	// 127.0.0.2 is loopback on Linux without configuration; elsewhere it
	// may not be, and that part is skipped.
	direct := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext,
	}}
	n := 0
	// request sends one GET and returns its status and its access-log
	// client. A small answer reaches the client only once the handler
	// returned, and with --log-flush-interval 0 its line is written by then.
	request := func(c *http.Client, xff string) (int, string) {
		t.Helper()
		n++
		id := fmt.Sprintf("proxy-test-%d", n)
		req, err := http.NewRequest(http.MethodGet, r.base+"/api/v1/registries", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Request-Id", id)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := c.Do(req)
		if err != nil {
			// Linux routes all of 127.0.0.0/8 to loopback; CI runs there.
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, l := range strings.Split(r.stderr.String(), "\n") {
			var line struct{ Msg, Client string }
			if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "request" && strings.Contains(l, `"request_id":"`+id+`"`) {
				return resp.StatusCode, line.Client
			}
		}
		t.Fatalf("no access-log line for request %s in:\n%s", id, r.stderr)
		return 0, ""
	}
	for i, s := range []struct {
		c          *http.Client
		xff        string
		want       int
		wantClient string
	}{
		{ingress, "203.0.113.1", 200, "203.0.113.1"},
		{ingress, "203.0.113.1", 200, "203.0.113.1"},
		{ingress, "203.0.113.2", 200, "203.0.113.2"}, // another client: its own budget
		{ingress, "198.51.100.7, 203.0.113.1", 429, "203.0.113.1"},
		{ingress, "", 200, "127.0.0.1"}, // the ingress's own budget
		{direct, "", 200, "127.0.0.2"},
		{direct, "203.0.113.50", 200, "127.0.0.2"},
		{direct, "203.0.113.51", 429, "127.0.0.2"}, // spoofing picks no new budget
	} {
		status, client := request(s.c, s.xff)
		if status != s.want || client != s.wantClient {
			t.Errorf("request %d (X-Forwarded-For %q): status %d, log client %q; want %d, %q", i, s.xff, status, client, s.want, s.wantClient)
		}
	}
}
