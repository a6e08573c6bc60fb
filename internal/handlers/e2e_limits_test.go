package handlers

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/regapi/regapi/internal/auth"
)

// TestLimits: the per-caller rate limit (429 with Retry-After, probes not
// counted, wrong tokens limited by address), CORS from the configuration,
// and the request body cap.
func TestLimits(t *testing.T) {
	t.Run("rate limit", func(t *testing.T) {
		a := newAPI(t, Config{Upstreams: []Upstream{}, RateLimit: 2, RateWindow: time.Hour})
		for range 5 {
			if res := a.get(t, "/healthz"); res.Status != http.StatusOK {
				t.Fatalf("GET /healthz = %d, want 200: probes are not limited", res.Status)
			}
		}
		for i, want := range []int{200, 200, 429} {
			res := a.get(t, "/api/v1/registries")
			if res.Status != want {
				t.Fatalf("GET /api/v1/registries #%d = %d, want %d", i+1, res.Status, want)
			}
			if want == 429 {
				res.problem(t, 429, "TOOMANYREQUESTS")
				if got := res.Header.Get("Retry-After"); got != "3600" {
					t.Errorf("Retry-After = %q, want 3600 (the window)", got)
				}
			}
		}
		// Another caller has its own budget; anonymous and wrong tokens
		// share the client address's, so guessing is throttled too.
		anon := http.Header{"Authorization": nil}
		for i, want := range []int{200, 200, 429} {
			h := anon
			if i == 1 {
				h = http.Header{"Authorization": {"Bearer guessed-token-0123456789"}}
				want = 401
			}
			if res := a.do(t, http.MethodGet, "/api/v1/registries", h); res.Status != want {
				t.Errorf("request #%d from the address = %d, want %d", i+1, res.Status, want)
			}
		}
	})

	t.Run("cors", func(t *testing.T) {
		a := newAPI(t, Config{
			Upstreams:   []Upstream{},
			CORSOrigins: []string{"https://dash.example.com"},
			Auth:        newAuth(t, auth.Config{}),
		})
		req, _ := http.NewRequest(http.MethodOptions, a.URL+"/api/v1/registries", nil)
		req.Header.Set("Origin", "https://dash.example.com")
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "Authorization")
		res, err := a.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode >= 300 || res.Header.Get("Access-Control-Allow-Origin") != "https://dash.example.com" ||
			!strings.Contains(strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")), "authorization") ||
			res.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("preflight = %d %v, want the origin allowed with Authorization and credentials", res.StatusCode, res.Header)
		}
		// A 401 still carries CORS headers, so the dashboard can read it.
		got := a.do(t, http.MethodGet, "/api/v1/registries", http.Header{"Origin": {"https://dash.example.com"}})
		if got.Status != 401 || got.Header.Get("Access-Control-Allow-Origin") != "https://dash.example.com" {
			t.Errorf("GET without a token from the dashboard = %d, Allow-Origin %q; want 401 with CORS headers", got.Status, got.Header.Get("Access-Control-Allow-Origin"))
		}
		other := a.do(t, http.MethodGet, "/api/v1/registries", http.Header{"Origin": {"https://evil.example.com"}})
		if v := other.Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("GET from another origin: Access-Control-Allow-Origin = %q, want none", v)
		}
	})

	t.Run("head bounds", func(t *testing.T) {
		// A URI or a header block over the bounds is a problem like any
		// other error, not Go's plain-text answer.
		a := newAPI(t, Config{Upstreams: []Upstream{}})
		long := "/api/v1/repos/x/" + strings.Repeat("a/", 5000) + "-/tags"
		a.do(t, http.MethodGet, long, nil).problem(t, http.StatusRequestURITooLong, "URI_TOO_LONG")
		h := http.Header{}
		for i := range 40 {
			h.Set(fmt.Sprintf("X-Filler-%d", i), strings.Repeat("x", 1000))
		}
		a.do(t, http.MethodGet, "/api/v1/registries", h).problem(t, http.StatusRequestHeaderFieldsTooLarge, "HEADERS_TOO_LARGE")
		if res := a.get(t, "/api/v1/registries"); res.Status != http.StatusOK {
			t.Errorf("an ordinary request after them = %d", res.Status)
		}
	})
	t.Run("body cap", func(t *testing.T) {
		logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		read := func(w http.ResponseWriter, r *http.Request, body io.Reader) {
			b, err := io.ReadAll(body)
			if err != nil {
				writeError(w, r, logger, err)
				return
			}
			encode(w, r, http.StatusOK, map[string]int{"read": len(b)})
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) { read(w, r, r.Body) })
		mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) { read(w, r, uploadBody(w, r, 100)) })
		srv := httptest.NewServer(limitBody(10)(mux))
		t.Cleanup(srv.Close)
		tests := []struct {
			path string
			size int
			want int
		}{
			{"/json", 10, 200},
			{"/json", 11, 413},
			{"/upload", 100, 200},
			{"/upload", 101, 413},
		}
		for _, tt := range tests {
			res, err := srv.Client().Post(srv.URL+tt.path, "application/json", strings.NewReader(strings.Repeat("x", tt.size)))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Errorf("POST %s with %d bytes = %d, want %d; body %s", tt.path, tt.size, res.StatusCode, tt.want, body)
			}
			if tt.want == 413 && !strings.Contains(string(body), `"code":"BODY_TOO_LARGE"`) {
				t.Errorf("POST %s with %d bytes: body %s, want BODY_TOO_LARGE", tt.path, tt.size, body)
			}
		}
	})
}
