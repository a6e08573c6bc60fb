package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/telemetry"
)

// TestClientAddressBehindProxy runs the whole chain as cmd/server builds
// it (request ID, metrics and access log, CORS, authentication, rate
// limit) with the ingress at 127.0.0.1 and ::1 trusted: anonymous clients
// behind it get a rate-limit budget each, a caller that is not a trusted
// proxy keeps its own whatever X-Forwarded-For it sends, and the access
// log's client is the address the budget is keyed by.
func TestClientAddressBehindProxy(t *testing.T) {
	var logs bytes.Buffer // written synchronously inside ServeHTTP
	logger, err := telemetry.NewLogger(&logs, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	m, err := telemetry.NewMetrics(prometheus.NewRegistry(), telemetry.WithLogger(logger), telemetry.WithRuntimeMetrics(false))
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := auth.ParseTrustedProxies([]string{"127.0.0.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	h := NewServer(Config{
		Upstreams:      []Upstream{},
		Logger:         logger,
		Auth:           openAuth(t),
		Middleware:     []func(http.Handler) http.Handler{telemetry.AssignRequestID, m.Middleware},
		RateLimit:      2,
		RateWindow:     time.Hour, // the test cannot straddle a window
		TrustedProxies: trusted,
	})

	steps := []struct {
		who        string
		remoteAddr string
		xff        []string // header lines
		want       int
		client     string // the access log's client
	}{
		// Two anonymous clients behind the ingress: a budget each.
		{"alice via ingress", "127.0.0.1:40001", []string{"203.0.113.1"}, 200, "203.0.113.1"},
		{"alice via ingress", "127.0.0.1:40002", []string{"203.0.113.1"}, 200, "203.0.113.1"},
		{"bob via ingress", "127.0.0.1:40003", []string{"203.0.113.2"}, 200, "203.0.113.2"},
		{"alice via ingress", "127.0.0.1:40004", []string{"203.0.113.1"}, 429, "203.0.113.1"},
		// Alice cannot escape through an address she prepends herself:
		// the ingress appends hers on the right.
		{"alice via ingress, spoofing", "127.0.0.1:40005", []string{"198.51.100.7, 203.0.113.1"}, 429, "203.0.113.1"},
		{"bob via ingress over IPv6, two lines", "[::1]:40006", []string{"198.51.100.7", "203.0.113.2"}, 200, "203.0.113.2"},
		{"bob via ingress", "127.0.0.1:40007", []string{"203.0.113.2"}, 429, "203.0.113.2"},
		// A direct caller that is no trusted proxy: its own address, with
		// any header.
		{"mallory direct", "127.0.0.2:50001", nil, 200, "127.0.0.2"},
		{"mallory direct", "127.0.0.2:50002", []string{"203.0.113.99"}, 200, "127.0.0.2"},
		{"mallory spoofs a fresh address", "127.0.0.2:50003", []string{"203.0.113.100"}, 429, "127.0.0.2"},
		{"mallory spoofs the ingress", "127.0.0.2:50004", []string{"127.0.0.1"}, 429, "127.0.0.2"},
		{"mallory spoofs a chain", "127.0.0.2:50005", []string{"203.0.113.101, 127.0.0.1", "::1"}, 429, "127.0.0.2"},
		// The ingress's own requests (no header) are the ingress's.
		{"the ingress itself", "127.0.0.1:40008", nil, 200, "127.0.0.1"},
	}
	for i, s := range steps {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/registries", nil)
		req.RemoteAddr = s.remoteAddr
		for _, v := range s.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		logs.Reset()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != s.want {
			t.Errorf("step %d (%s, %s, X-Forwarded-For %q): status %d, want %d", i, s.who, s.remoteAddr, s.xff, rec.Code, s.want)
		}
		var line struct {
			Msg    string `json:"msg"`
			Client string `json:"client"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil || line.Msg != "request" {
			t.Fatalf("step %d: access log %q: %v, want one request line", i, logs.String(), err)
		}
		if line.Client != s.client || line.Status != s.want {
			t.Errorf("step %d (%s): access log client %q status %d, want %q %d", i, s.who, line.Client, line.Status, s.client, s.want)
		}
	}
}
