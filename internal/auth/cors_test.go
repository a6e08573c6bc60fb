package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// corsServer serves CORS(origins) in front of the authentication
// middleware and a handler that counts the requests reaching it and
// answers 401 without a principal.
func corsServer(t *testing.T, origins []string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var reached atomic.Int64
	a := newTestAuthorizer(t, false)
	h := CORS(origins)(a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		_, err := FromContext(r.Context())
		w.WriteHeader(statusOf(w, err))
	})))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, &reached
}

func do(t *testing.T, srv *httptest.Server, method string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+"/api/v1/repos/hub/library/alpine/-/tags", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestCORSPreflight(t *testing.T) {
	srv, reached := corsServer(t, []string{"https://dash.example.com", "https://*.corp.example"})
	preflight := func(origin string) *http.Response {
		return do(t, srv, http.MethodOptions, map[string]string{
			"Origin":                         origin,
			"Access-Control-Request-Method":  "GET",
			"Access-Control-Request-Headers": "authorization",
		})
	}
	for _, origin := range []string{"https://dash.example.com", "https://team.corp.example"} {
		resp := preflight(origin)
		for k, want := range map[string]string{
			"Access-Control-Allow-Origin":      origin,
			"Access-Control-Allow-Methods":     "GET",
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Max-Age":           "600",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("preflight from %s: %s = %q, want %q", origin, k, got, want)
			}
		}
		if got := resp.Header.Get("Access-Control-Allow-Headers"); !strings.EqualFold(got, "authorization") {
			t.Errorf("preflight from %s: Access-Control-Allow-Headers = %q, want authorization", origin, got)
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("preflight from %s: status %d, want 200 (answered before authentication)", origin, resp.StatusCode)
		}
	}
	if resp := preflight("https://evil.example"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from evil.example: Access-Control-Allow-Origin = %q, want none", resp.Header.Get("Access-Control-Allow-Origin"))
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("preflights reached the handler %d times, want 0", n)
	}
}

func TestCORSActualRequest(t *testing.T) {
	srv, _ := corsServer(t, []string{"https://dash.example.com"})
	resp := do(t, srv, http.MethodGet, map[string]string{
		"Origin": "https://dash.example.com", "Authorization": "Bearer " + readerSecret,
	})
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://dash.example.com" {
		t.Errorf("GET: Access-Control-Allow-Origin = %q, want the origin", got)
	}
	exposed := resp.Header.Get("Access-Control-Expose-Headers")
	for _, h := range corsExposed {
		if !strings.Contains(strings.ToLower(exposed), strings.ToLower(h)) { // header names are case-insensitive
			t.Errorf("GET: Access-Control-Expose-Headers = %q, want it to list %s", exposed, h)
		}
	}
	// A 401 still carries CORS headers, so the dashboard can read it.
	resp = do(t, srv, http.MethodGet, map[string]string{"Origin": "https://dash.example.com"})
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("GET without token: %d with Access-Control-Allow-Origin %q, want 401 with the origin", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp = do(t, srv, http.MethodGet, map[string]string{"Origin": "https://evil.example"})
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("GET from evil.example: Access-Control-Allow-Origin = %q, want none", got)
	}
}

func TestCORSWildcardHasNoCredentials(t *testing.T) {
	srv, _ := corsServer(t, []string{"*"})
	resp := do(t, srv, http.MethodOptions, map[string]string{
		"Origin": "https://any.example", "Access-Control-Request-Method": "GET",
	})
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("preflight with *: Access-Control-Allow-Origin = %q, want *", got)
	}
	if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("preflight with *: Access-Control-Allow-Credentials = %q, want none", got)
	}
}

func TestCORSNoOriginsIsNoop(t *testing.T) {
	srv, reached := corsServer(t, nil)
	resp := do(t, srv, http.MethodOptions, map[string]string{
		"Origin": "https://dash.example.com", "Access-Control-Request-Method": "GET",
	})
	for k := range resp.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("no origins: preflight answered with %s", k)
		}
	}
	if reached.Load() != 1 {
		t.Errorf("no origins: OPTIONS reached the handler %d times, want 1 (CORS off)", reached.Load())
	}
}

func TestCheckOrigins(t *testing.T) {
	for _, tt := range []struct {
		origin string
		ok     bool
	}{
		{"*", true},
		{"https://dash.example.com", true},
		{"http://localhost:3000", true},
		{"https://*.example.com", true},
		{"https://dash.example.com/", false},
		{"https://dash.example.com/app", false},
		{"dash.example.com", false},
		{"ftp://dash.example.com", false},
		{"https://*.*.example.com", false},
		{"https://user@dash.example.com", false},
	} {
		err := CheckOrigins([]string{tt.origin})
		if (err == nil) != tt.ok {
			t.Errorf("CheckOrigins(%q) = %v, want ok=%t", tt.origin, err, tt.ok)
		}
	}
}
