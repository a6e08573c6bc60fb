package handlers

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/regapi/regapi/internal/auth"
)

// TestUIPublic checks that the UI's paths answer without a token and
// outside the rate limit (a page load fetches several files), while the
// API beside them keeps both.
func TestUIPublic(t *testing.T) {
	uiHits := 0
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uiHits++
		w.WriteHeader(http.StatusOK)
	})
	srv := NewServer(Config{
		UI:        ui,
		Auth:      newAuth(t, auth.Config{}), // no anonymous access, no tokens
		RateLimit: 1,
	})
	do := func(method, path string) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, path, nil)
		req.RemoteAddr = "192.0.2.7:1234"
		srv.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := 0; i < 3; i++ {
		for _, path := range []string{"/ui", "/ui/", "/ui/repos/demo/library/alpine", "/ui/assets/js/app.js"} {
			for _, m := range []string{http.MethodGet, http.MethodHead} {
				if got := do(m, path); got != http.StatusOK {
					t.Errorf("%s %s (round %d) = %d, want 200", m, path, i, got)
				}
			}
		}
	}
	if uiHits != 24 {
		t.Errorf("UI handler served %d requests, want 24", uiHits)
	}
	if got := do(http.MethodGet, "/api/v1/registries"); got != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/registries without a token = %d, want 401", got)
	}
	if got := do(http.MethodGet, "/api/v1/registries"); got != http.StatusTooManyRequests {
		t.Errorf("second GET /api/v1/registries = %d, want 429 (the UI's requests are not counted, the API's are)", got)
	}
	if got := do(http.MethodPost, "/ui/"); got != http.StatusMethodNotAllowed {
		t.Errorf("POST /ui/ = %d, want 405", got)
	}
}
