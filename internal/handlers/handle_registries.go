package handlers

import (
	"log/slog"
	"net/http"

	"github.com/regapi/regapi/internal/auth"
)

// registryInfo describes one upstream; it never carries credentials.
type registryInfo struct {
	Name string `json:"name"`
	Host string `json:"host"`
}

// registriesResponse is the answer of GET /api/v1/registries.
type registriesResponse struct {
	Registries []registryInfo `json:"registries"`
}

// handleRegistries serves GET /api/v1/registries: the configured upstreams
// the caller may pull something from, in configuration order.
func handleRegistries(logger *slog.Logger, ups *upstreams) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := auth.FromContext(r.Context())
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		resp := registriesResponse{Registries: make([]registryInfo, 0, len(ups.list))}
		for _, up := range ups.list {
			if caller.MayHaveUnder(auth.ActionPull, up.Name, "") {
				resp.Registries = append(resp.Registries, registryInfo{Name: up.Name, Host: up.Host})
			}
		}
		respondJSON(w, r, logger, resp, "", cacheControlShort)
	})
}
