package telemetry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// faultyRegistry answers like a registry having a bad day, by path:
// manifests of "ok" succeed, "missing" is 404, "limited" is 429 with Docker
// Hub's rate-limit headers, "broken" is 500, "flaky" fails twice then
// succeeds, "hang" waits for the client to give up.
type faultyRegistry struct {
	flaky atomic.Int32
}

func (f *faultyRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/v2/":
		w.WriteHeader(http.StatusOK)
	case strings.HasPrefix(r.URL.Path, "/v2/ok/"):
		w.Header().Set("RateLimit-Remaining", "76;w=21600")
		_, _ = io.WriteString(w, "{}")
	case strings.HasPrefix(r.URL.Path, "/v2/missing/"):
		http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
	case strings.HasPrefix(r.URL.Path, "/v2/limited/"):
		w.Header().Set("RateLimit-Remaining", "0;w=21600")
		w.Header().Set("Retry-After", "60")
		http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS"}]}`, http.StatusTooManyRequests)
	case strings.HasPrefix(r.URL.Path, "/v2/broken/"):
		http.Error(w, "boom", http.StatusInternalServerError)
	case strings.HasPrefix(r.URL.Path, "/v2/flaky/"):
		if f.flaky.Add(1) <= 2 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "{}")
	case strings.HasPrefix(r.URL.Path, "/v2/hang/"):
		<-r.Context().Done()
	default:
		http.NotFound(w, r)
	}
}

// roundTrip sends one request through rt and drains the response.
func roundTrip(t *testing.T, ctx context.Context, rt http.RoundTripper, method, url string) (int, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatalf("NewRequest(%s): %v", url, err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func TestUpstreamTransportOutcomes(t *testing.T) {
	m, reg, logs := newTestMetrics(t)
	srv := serve(t, &faultyRegistry{})
	rt := UpstreamTransport(srv.Client().Transport, "hub", m)
	ctx := ContextWithRequestID(t.Context(), "req-upstream-1")

	for _, p := range []string{"/v2/", "/v2/ok/manifests/v1", "/v2/ok/blobs/sha256:a", "/v2/missing/manifests/v1", "/v2/limited/tags/list", "/v2/broken/manifests/v1"} {
		if _, err := roundTrip(t, ctx, rt, http.MethodGet, srv.URL+p); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
	}
	hctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := roundTrip(t, hctx, rt, http.MethodGet, srv.URL+"/v2/hang/manifests/v1"); err == nil {
		t.Fatal("GET /v2/hang/... returned no error, want a timeout")
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if _, err := roundTrip(t, ctx, UpstreamTransport(http.DefaultTransport, "gone", m), http.MethodGet, closed.URL+"/v2/"); err == nil {
		t.Fatal("GET on a closed server returned no error")
	}

	want := map[string]float64{
		"operation=ping,outcome=ok,registry=hub":               1,
		"operation=manifest,outcome=ok,registry=hub":           1,
		"operation=blob,outcome=ok,registry=hub":               1,
		"operation=manifest,outcome=not_found,registry=hub":    1,
		"operation=tags,outcome=rate_limited,registry=hub":     1,
		"operation=manifest,outcome=server_error,registry=hub": 1,
		"operation=manifest,outcome=timeout,registry=hub":      1,
		"operation=ping,outcome=error,registry=gone":           1,
	}
	if diff := cmp.Diff(want, series(t, reg, "regapi_upstream_requests_total")); diff != "" {
		t.Errorf("regapi_upstream_requests_total (-want +got):\n%s", diff)
	}
	wantDur := map[string]float64{
		"operation=ping,registry=hub":     1,
		"operation=manifest,registry=hub": 4,
		"operation=blob,registry=hub":     1,
		"operation=tags,registry=hub":     1,
		"operation=ping,registry=gone":    1,
	}
	if diff := cmp.Diff(wantDur, series(t, reg, "regapi_upstream_request_duration_seconds")); diff != "" {
		t.Errorf("regapi_upstream_request_duration_seconds sample counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]float64{"registry=hub": 1}, series(t, reg, "regapi_upstream_rate_limited_total")); diff != "" {
		t.Errorf("regapi_upstream_rate_limited_total (-want +got):\n%s", diff)
	}
	// The last answer carrying the header was the 429's "0".
	if diff := cmp.Diff(map[string]float64{"registry=hub": 0}, series(t, reg, "regapi_upstream_ratelimit_remaining")); diff != "" {
		t.Errorf("regapi_upstream_ratelimit_remaining (-want +got):\n%s", diff)
	}
	if got := series(t, reg, "regapi_upstream_retries_total"); len(got) != 0 {
		t.Errorf("regapi_upstream_retries_total = %v, want no series", got)
	}

	// Warnings: 429, 500, the timeout and the refused connection; not the
	// 404 nor the successes.
	wantWarn := []struct{ operation, outcome string }{
		{"tags", "rate_limited"}, {"manifest", "server_error"}, {"manifest", "timeout"}, {"ping", "error"},
	}
	for _, w := range wantWarn {
		line := logs.next(t)
		if line["level"] != "WARN" || line["msg"] != "upstream request failed" {
			t.Fatalf("log line = %v, want an upstream warning", line)
		}
		if line["operation"] != w.operation || line["outcome"] != w.outcome {
			t.Errorf("warning operation, outcome = %v, %v; want %s, %s", line["operation"], line["outcome"], w.operation, w.outcome)
		}
		if line["request_id"] != "req-upstream-1" {
			t.Errorf("warning request_id = %v, want req-upstream-1", line["request_id"])
		}
	}
	select {
	case line := <-logs.lines:
		t.Errorf("unexpected log line %s", line)
	default:
	}
}

// URLs in warnings lose userinfo and query; the log line never holds them.
func TestUpstreamTransportRedactsURLs(t *testing.T) {
	m, _, logs := newTestMetrics(t)
	srv := serve(t, &faultyRegistry{})
	rt := UpstreamTransport(srv.Client().Transport, "hub", m)
	secretURL := strings.Replace(srv.URL, "http://", "http://robot:hunter2@", 1) +
		"/v2/broken/manifests/v1?token=s3cret&X-Amz-Signature=sig#frag"
	if _, err := roundTrip(t, t.Context(), rt, http.MethodGet, secretURL); err != nil {
		t.Fatalf("GET: %v", err)
	}
	select {
	case raw := <-logs.lines:
		for _, secret := range []string{"hunter2", "robot", "s3cret", "sig", "frag", "token="} {
			if strings.Contains(raw, secret) {
				t.Errorf("log line %s contains %q", raw, secret)
			}
		}
		if !strings.Contains(raw, `"url":"`+srv.URL+`/v2/broken/manifests/v1"`) {
			t.Errorf("log line %s lacks the redacted URL %s/v2/broken/manifests/v1", raw, srv.URL)
		}
		if !strings.Contains(raw, `"status":500`) {
			t.Errorf("log line %s lacks status 500", raw)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no warning within 10s")
	}
}

// Beneath go-containerregistry's retry transport, each attempt counts and
// the repeats count as retries.
func TestUpstreamTransportCountsGGCRRetries(t *testing.T) {
	m, reg, _ := newTestMetrics(t)
	srv := serve(t, &faultyRegistry{})
	rt := transport.NewRetry(UpstreamTransport(srv.Client().Transport, "hub", m),
		transport.WithRetryBackoff(transport.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 3}),
		transport.WithRetryPredicate(func(error) bool { return true }),
		transport.WithRetryStatusCodes(http.StatusServiceUnavailable))
	status, err := roundTrip(t, t.Context(), rt, http.MethodGet, srv.URL+"/v2/flaky/manifests/v1")
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET flaky = %d, %v; want 200 after retries", status, err)
	}
	want := map[string]float64{
		"operation=manifest,outcome=server_error,registry=hub": 2,
		"operation=manifest,outcome=ok,registry=hub":           1,
	}
	if diff := cmp.Diff(want, series(t, reg, "regapi_upstream_requests_total")); diff != "" {
		t.Errorf("regapi_upstream_requests_total (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]float64{"operation=manifest,registry=hub": 2}, series(t, reg, "regapi_upstream_retries_total")); diff != "" {
		t.Errorf("regapi_upstream_retries_total (-want +got):\n%s", diff)
	}
}

// statusSeq answers each request with the next status of its list.
type statusSeq struct {
	statuses []int
	n        atomic.Int32
}

func (s *statusSeq) RoundTrip(req *http.Request) (*http.Response, error) {
	i := int(s.n.Add(1)) - 1
	if s.statuses[i] == 0 {
		return nil, errors.New("connection reset by peer")
	}
	return &http.Response{StatusCode: s.statuses[i], Body: http.NoBody, Header: http.Header{}, Request: req}, nil
}

// The same request sent again after a 401 challenge is the auth handshake
// (ggcr's bearer transport does this), not a retry; after a 5xx or a
// transport error it is.
func TestUpstreamTransportRetryDetection(t *testing.T) {
	tests := []struct {
		name        string
		statuses    []int // 0 is a transport error
		wantRetries float64
	}{
		{"single attempt", []int{200}, 0},
		{"challenge then success", []int{401, 200}, 0},
		{"server error then success", []int{503, 200}, 1},
		{"transport error twice then success", []int{0, 0, 200}, 2},
		{"challenge, 429, success", []int{401, 429, 200}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, reg, _ := newTestMetrics(t)
			rt := UpstreamTransport(&statusSeq{statuses: tt.statuses}, "hub", m)
			req, err := http.NewRequest(http.MethodGet, "https://r.example/v2/org/app/manifests/v1", nil)
			if err != nil {
				t.Fatal(err)
			}
			for range tt.statuses {
				if resp, err := rt.RoundTrip(req); err == nil {
					resp.Body.Close()
				}
			}
			// A new request for the same URL is not a retry.
			req2, err := http.NewRequest(http.MethodGet, "https://r.example/v2/org/app/manifests/v1", nil)
			if err != nil {
				t.Fatal(err)
			}
			rt.(*upstreamTransport).next = &statusSeq{statuses: []int{200}}
			if resp, err := rt.RoundTrip(req2); err == nil {
				resp.Body.Close()
			}
			got := series(t, reg, "regapi_upstream_retries_total")["operation=manifest,registry=hub"]
			if got != tt.wantRetries {
				t.Errorf("retries after %v = %v, want %v", tt.statuses, got, tt.wantRetries)
			}
		})
	}
}

func TestUpstreamTransportNilMetrics(t *testing.T) {
	base := http.DefaultTransport
	if got := UpstreamTransport(base, "hub", nil); got != base {
		t.Errorf("UpstreamTransport(base, hub, nil) = %v, want base", got)
	}
}
