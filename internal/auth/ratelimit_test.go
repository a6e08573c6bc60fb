package auth

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// limitedServer is Middleware, then RateLimit, then a handler answering
// 200 to authenticated callers and 401 to the rest.
func limitedServer(t *testing.T, requests int, window time.Duration) *httptest.Server {
	t.Helper()
	a := newTestAuthorizer(t, true)
	h := a.Middleware(RateLimit(requests, window)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := FromContext(r.Context())
		w.WriteHeader(statusOf(w, err))
	})))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, secret string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestRateLimitPerCaller(t *testing.T) {
	// An hour-long window: the test cannot straddle a window boundary.
	srv := limitedServer(t, 2, time.Hour)
	const wrong = "wrong-0123456789abcdef"
	steps := []struct {
		who, secret string
		want        int
	}{
		{"reader", readerSecret, 200},
		{"reader", readerSecret, 200},
		{"reader", readerSecret, 429},
		{"ci", ciSecret, 200}, // another token has its own budget
		{"anonymous", "", 200},
		{"anonymous", "", 200},
		{"anonymous", "", 429},      // the address's budget
		{"wrong token", wrong, 429}, // guessing shares the address's budget
		{"ci", ciSecret, 200},
		{"ci", ciSecret, 429},
	}
	for i, s := range steps {
		resp := get(t, srv, s.secret)
		if resp.StatusCode != s.want {
			t.Fatalf("step %d (%s): status %d, want %d", i, s.who, resp.StatusCode, s.want)
		}
		if s.want != http.StatusTooManyRequests {
			continue
		}
		if got := resp.Header.Get("Retry-After"); got != "3600" {
			t.Errorf("step %d (%s): Retry-After = %q, want 3600", i, s.who, got)
		}
		var problem struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("step %d: Content-Type = %q, want application/problem+json", i, ct)
		}
		if err := json.NewDecoder(resp.Body).Decode(&problem); err != nil || problem.Code != "TOOMANYREQUESTS" || problem.Status != 429 {
			t.Errorf("step %d: body = %+v, %v, want code TOOMANYREQUESTS status 429", i, problem, err)
		}
	}
}

func TestRateLimitWrongTokensLimitedByAddress(t *testing.T) {
	srv := limitedServer(t, 2, time.Hour)
	for i, want := range []int{401, 401, 429, 429} {
		if got := get(t, srv, "guess-0123456789abcdef").StatusCode; got != want {
			t.Errorf("guess %d: status %d, want %d", i, got, want)
		}
	}
}

func TestRateLimitRetryAfterRoundsUp(t *testing.T) {
	srv := limitedServer(t, 1, 300*time.Millisecond)
	// httprate's sliding window still counts the previous window's request,
	// so one of the next few back-to-back requests is refused.
	for range 4 {
		resp := get(t, srv, readerSecret)
		if resp.StatusCode != http.StatusTooManyRequests {
			continue
		}
		if got := resp.Header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After = %q for a 300ms window, want 1", got)
		}
		return
	}
	t.Errorf("4 requests within a 1-per-300ms limit: none refused")
}

func TestRateLimitWithCustomWriter(t *testing.T) {
	var got error
	h := RateLimitWith(1, time.Hour, func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		w.WriteHeader(http.StatusTooManyRequests)
	})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") != "3600" {
			t.Errorf("Retry-After = %q, want 3600 set before the writer runs", rec.Header().Get("Retry-After"))
		}
	}
	if !errors.Is(got, ErrRateLimited) {
		t.Errorf("writer got %v, want ErrRateLimited", got)
	}
}

func TestRateLimitDisabled(t *testing.T) {
	h := RateLimit(0, time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for i := range 5 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("RateLimit(0) request %d: status %d, want 200", i, rec.Code)
		}
	}
}

// TestCallerKey: a token is its name wherever it calls from; anonymous
// callers and wrong tokens are their address, IPv6 by its /64.
func TestCallerKey(t *testing.T) {
	a := newTestAuthorizer(t, true)
	srv := httptest.NewServer(ClientAddresses(TrustedProxies{})(a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(CallerKey(r)))
	}))))
	t.Cleanup(srv.Close)
	for _, tt := range []struct{ who, secret, want string }{
		{"reader", readerSecret, "token:reader"},
		{"ci", ciSecret, "token:ci"},
		{"anonymous", "", "ip:127.0.0.1"},
		{"wrong token", "guess-0123456789abcdef", "ip:127.0.0.1"},
	} {
		resp := get(t, srv, tt.secret)
		var b strings.Builder
		if _, err := io.Copy(&b, resp.Body); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("CallerKey(%s) = %q, want %q", tt.who, b.String(), tt.want)
		}
	}
	for _, tt := range []struct{ addr, want string }{
		{"2001:db8:1:2:3:4:5:6", "ip:2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "ip:2001:db8:1:2::/64"},
		{"::ffff:192.0.2.7", "ip:192.0.2.7"},
	} {
		if got := addrKey(netip.MustParseAddr(tt.addr).Unmap(), ""); got != tt.want {
			t.Errorf("addrKey(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}
