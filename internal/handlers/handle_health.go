package handlers

import (
	"net/http"

	"github.com/regapi/regapi/api"
)

// statusResponse is the answer of /healthz and /readyz.
type statusResponse struct {
	Status string `json:"status"`
}

// handleHealthz serves GET /healthz: 200 while the process serves at all.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cacheControlNone)
		encode(w, r, http.StatusOK, statusResponse{Status: "ok"})
	})
}

// handleReadyz serves GET /readyz: 200 while ready reports true, 503 (for
// instance while shutting down) otherwise.
func handleReadyz(ready func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cacheControlNone)
		if !ready() {
			encode(w, r, http.StatusServiceUnavailable, statusResponse{Status: "not ready"})
			return
		}
		encode(w, r, http.StatusOK, statusResponse{Status: "ready"})
	})
}

// handleOpenAPI serves GET /openapi.yaml, the embedded API contract.
// no-cache: clients revalidate (a 304 by ETag) and see a new deploy at once.
func handleOpenAPI() http.Handler {
	etag := contentETag(api.Spec)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respondBytes(w, r, "application/yaml", api.Spec, etag, "no-cache")
	})
}
