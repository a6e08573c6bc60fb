// Package handlers is regapi's HTTP layer: the chi router, one handler per
// route, request parsing and the single place that turns errors into
// responses. It consumes a registry.Client per configured upstream and knows
// nothing about how those clients cache or authenticate.
package handlers

import (
	"log/slog"
	"net/http"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
)

// Upstream is one configured registry that callers reach by Name.
type Upstream struct {
	// Name is the first path segment after /api/v1/repos/.
	Name string
	// Host is the registry's address as shown to callers (never credentials).
	Host string
	// Client is the base client (no path) for the registry.
	Client registry.Client
}

// Purger drops cached answers. Prefix is "" (everything), "<registry>" or
// "<registry>/<repository path>"; it returns how many entries were dropped.
type Purger interface {
	Purge(prefix string) int
}

// Config holds every dependency of the HTTP layer.
type Config struct {
	// Upstreams are the registries served, in the order listed.
	Upstreams []Upstream
	// DefaultPlatform is used when an index meets config, extract or digest
	// without ?platform=. The zero value means linux/amd64.
	DefaultPlatform v1.Platform
	// Logger receives request and error logs. Nil discards.
	Logger *slog.Logger
	// Ready reports readiness for /readyz; nil means always ready.
	Ready func() bool
	// Metrics, when set, is served at GET /metrics.
	Metrics http.Handler
	// Cache, when set, serves DELETE /api/v1/cache.
	Cache Purger
	// Middleware wraps every route, in order, inside the router: after the
	// handler ran, chi.RouteContext(r.Context()).RoutePattern() names the
	// route (for repository routes the logical pattern, e.g.
	// "/api/v1/repos/{registry}/{repository}/-/tags"), never a raw path.
	Middleware []func(http.Handler) http.Handler
}
