package handlers

import (
	"log/slog"
	"net/http"
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
// in configuration order.
func handleRegistries(logger *slog.Logger, ups *upstreams) http.Handler {
	resp := registriesResponse{Registries: make([]registryInfo, 0, len(ups.list))}
	for _, up := range ups.list {
		resp.Registries = append(resp.Registries, registryInfo{Name: up.Name, Host: up.Host})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respondJSON(w, r, logger, resp, "", cacheControlShort)
	})
}
