package handlers

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/regapi/regapi/internal/auth"
)

// purgeResponse is the answer of DELETE /api/v1/cache.
type purgeResponse struct {
	Purged int `json:"purged"`
}

// handlePurge serves DELETE /api/v1/cache?prefix=: drops every cached
// answer, or those of one registry ("demo") or repository path
// ("demo/library/alpine", which includes the repositories below it). The
// caller needs admin on everything the prefix covers: only an admin scope
// for registry "*" and repositories "**" purges the whole cache.
func handlePurge(logger *slog.Logger, ups *upstreams, purger Purger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix := r.URL.Query().Get("prefix")
		var reg, repo string
		if prefix != "" {
			var hasRepo bool
			reg, repo, hasRepo = strings.Cut(prefix, "/")
			if err := validateRegistryName(reg); err != nil {
				writeError(w, r, logger, err)
				return
			}
			if hasRepo {
				if err := validateRepository(repo); err != nil {
					writeError(w, r, logger, err)
					return
				}
			}
		}
		caller, err := auth.FromContext(r.Context())
		if err == nil {
			err = caller.CheckCovers(auth.ActionAdmin, reg, repo)
		}
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		if reg != "" {
			if _, err := ups.get(reg); err != nil {
				writeError(w, r, logger, err)
				return
			}
		}
		n := purger.Purge(prefix)
		logger.InfoContext(r.Context(), "cache purged", "prefix", prefix, "entries", n, "caller", caller)
		w.Header().Set("Cache-Control", cacheControlNone)
		encode(w, r, http.StatusOK, purgeResponse{Purged: n})
	})
}
