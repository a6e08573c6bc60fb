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
func addRoutes(mux chi.Router, logger *slog.Logger, ups *upstreams, platform v1.Platform, ready func() bool, purger Purger, metrics http.Handler, writes Writes, reads Reads, streams Streams, transfers Transfers, list listConfig, in *insight, memo *answerMemo) {
	flatten, files := readHandlers(logger, platform, reads, streams)
	upload, sync := handleUpload(logger, writes, transfers), handleSync(logger, ups, writes, transfers)
	images := handleImages(in.handleImageTable(), in.handleInspect(), upload)
	listRepos := handleRepositories(logger, list)
	repos := handleRepos(logger, ups, map[string]http.Handler{
		actionRepositories: listRepos,                      // GET /api/v1/repos/{registry}[/{repository…}]/-/repositories
		actionTags:         handleTags(logger, memo),       // GET /api/v1/repos/{registry}/{repository…}/-/tags
		actionManifests:    handleManifest(logger, memo),   // GET, HEAD /api/v1/repos/{registry}/{repository…}/-/manifests/{reference}
		actionDigest:       handleDigest(logger, platform), // GET /api/v1/repos/{registry}/{repository…}/-/digest/{reference}
		actionConfig:       handleConfig(logger, platform), // GET /api/v1/repos/{registry}/{repository…}/-/config/{reference}
		actionExtract:      flatten,                        // GET /api/v1/repos/{registry}/{repository…}/-/extract/{reference}?path=
		actionFiles:        files,                          // GET /api/v1/repos/{registry}/{repository…}/-/files/{reference}/{path…}
		actionImages:       images,                         // GET …/-/images (the table); GET, PUT …/-/images/{reference} (inspect, upload)
		actionReferrers:    handleReferrers(logger),        // GET /api/v1/repos/{registry}/{repository…}/-/referrers/{reference}
	})

	getAndHead(mux, "/healthz", handleHealthz())                                                               // GET, HEAD /healthz
	getAndHead(mux, "/readyz", handleReadyz(ready))                                                            // GET, HEAD /readyz
	getAndHead(mux, "/openapi.yaml", handleOpenAPI())                                                          // GET, HEAD /openapi.yaml
	getAndHead(mux, "/api/v1/registries", handleRegistries(logger, ups))                                       // GET, HEAD /api/v1/registries
	getAndHead(mux, reposPrefix+"*", repos)                                                                    // GET, HEAD /api/v1/repos/… (all repository routes)
	mux.Method(http.MethodPut, reposPrefix+"*", repos)                                                         // PUT /api/v1/repos/…/-/images/{tag}
	mux.Method(http.MethodPost, "/api/v1/copy", requireSome(logger, auth.ActionPush, handleCopy(logger, ups))) // POST /api/v1/copy
	mux.Method(http.MethodPost, "/api/v1/sync", requireSome(logger, auth.ActionPush, sync))                    // POST /api/v1/sync
	if metrics != nil {
		getAndHead(mux, "/metrics", metrics) // GET, HEAD /metrics (when not on its own listener)
	}
	if purger != nil {
		mux.Method(http.MethodDelete, "/api/v1/cache", handlePurge(logger, ups, purger)) // DELETE /api/v1/cache?prefix=
	}
}

// getAndHead serves h at pattern for GET and for HEAD (see getHead).
func getAndHead(mux chi.Router, pattern string, h http.Handler) {
	mux.Method(http.MethodGet, pattern, h)
	mux.Method(http.MethodHead, pattern, h)
}

// uiPrefix is where the browser UI is served, when it is.
const uiPrefix = "/ui/"

// addFrontDoor serves GET and HEAD / and /api/v1, linking the UI when
// there is one.
func addFrontDoor(mux chi.Router, ui bool) {
	door := handleIndex(ui)
	getAndHead(mux, "/", door)       // GET, HEAD /
	getAndHead(mux, "/api/v1", door) // GET, HEAD /api/v1
}

// addUI serves the browser UI, when there is one, at /ui (which redirects
// to /ui/) and below /ui/.
func addUI(mux chi.Router, ui http.Handler) {
	if ui == nil {
		return
	}
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		mux.Method(m, "/ui", ui)        // GET, HEAD /ui (301 to /ui/)
		mux.Method(m, uiPrefix+"*", ui) // GET, HEAD /ui/… (index.html for every view, /ui/assets/…)
	}
}

// readHandlers returns the extract and files handlers behind one shared
// limiter of reads.Concurrency (reads.CallerConcurrency per caller),
// sharing the file indexes.
func readHandlers(logger *slog.Logger, platform v1.Platform, reads Reads, streams Streams) (extract, files http.Handler) {
	l := newLimiter(logger, reads, busyRetryAfter)
	ix := newFileIndexes(logger, reads.IndexBytes, reads.Indexes, reads.Shared)
	if ix != nil && reads.indexWait > 0 {
		ix.wait = reads.indexWait
	}
	return l.wrap(handleExtract(logger, platform, reads, streams, ix)), l.wrap(handleFiles(logger, platform, reads, streams, ix))
}
