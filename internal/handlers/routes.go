package handlers

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/auth"
)

// addRoutes maps the whole API. The repository routes share one wildcard:
// handleRepos parses the path and dispatches on the action after "/-/"
// (the logical routes are listed in apiroutes.go).
func addRoutes(mux chi.Router, logger *slog.Logger, ups *upstreams, platform v1.Platform, ready func() bool, purger Purger, metrics http.Handler, writes Writes, reads Reads, streams Streams, transfers Transfers) {
	flatten, files := readHandlers(logger, platform, reads, streams)
	upload, sync := handleUpload(logger, writes, transfers), handleSync(logger, ups, writes, transfers)
	memo := newAnswerMemo()
	repos := handleRepos(logger, ups, map[string]http.Handler{
		actionRepositories: handleRepositories(logger),     // GET /api/v1/repos/{registry}[/{repository…}]/-/repositories
		actionTags:         handleTags(logger, memo),       // GET /api/v1/repos/{registry}/{repository…}/-/tags
		actionManifests:    handleManifest(logger, memo),   // GET, HEAD /api/v1/repos/{registry}/{repository…}/-/manifests/{reference}
		actionDigest:       handleDigest(logger, platform), // GET /api/v1/repos/{registry}/{repository…}/-/digest/{reference}
		actionConfig:       handleConfig(logger, platform), // GET /api/v1/repos/{registry}/{repository…}/-/config/{reference}
		actionExtract:      flatten,                        // GET /api/v1/repos/{registry}/{repository…}/-/extract/{reference}?path=
		actionFiles:        files,                          // GET /api/v1/repos/{registry}/{repository…}/-/files/{reference}/{path…}
		actionImages:       upload,                         // PUT /api/v1/repos/{registry}/{repository…}/-/images/{tag}
	})

	mux.Method(http.MethodGet, "/healthz", handleHealthz())                                                    // GET /healthz
	mux.Method(http.MethodGet, "/readyz", handleReadyz(ready))                                                 // GET /readyz
	mux.Method(http.MethodGet, "/openapi.yaml", handleOpenAPI())                                               // GET /openapi.yaml
	mux.Method(http.MethodGet, "/api/v1/registries", handleRegistries(logger, ups))                            // GET /api/v1/registries
	mux.Method(http.MethodGet, reposPrefix+"*", repos)                                                         // GET /api/v1/repos/… (all repository routes)
	mux.Method(http.MethodHead, reposPrefix+"*", repos)                                                        // HEAD /api/v1/repos/…/-/manifests/{reference}
	mux.Method(http.MethodPut, reposPrefix+"*", repos)                                                         // PUT /api/v1/repos/…/-/images/{tag}
	mux.Method(http.MethodPost, "/api/v1/copy", requireSome(logger, auth.ActionPush, handleCopy(logger, ups))) // POST /api/v1/copy
	mux.Method(http.MethodPost, "/api/v1/sync", requireSome(logger, auth.ActionPush, sync))                    // POST /api/v1/sync
	if metrics != nil {
		mux.Method(http.MethodGet, "/metrics", metrics) // GET /metrics (when not on its own listener)
	}
	if purger != nil {
		mux.Method(http.MethodDelete, "/api/v1/cache", handlePurge(logger, ups, purger)) // DELETE /api/v1/cache?prefix=
	}
}
