// Package handlers is regapi's HTTP layer: the chi router, one handler per
// route, request parsing and the single place that turns errors into
// responses. It consumes a registry.Client per configured upstream and knows
// nothing about how those clients cache or authenticate.
package handlers

import (
	"log/slog"
	"net/http"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/auth"
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

	// Auth authenticates callers. Every route but /healthz, /readyz,
	// /openapi.yaml and /metrics checks the caller's scopes before it
	// looks anything up. Nil answers 401 to all of them: access control
	// fails closed.
	Auth *auth.Authorizer
	// CORSOrigins are the browser origins allowed to call the API. The
	// default value is none: nothing is shared cross-origin.
	CORSOrigins []string
	// RateLimit is how many requests one caller (a token, or a client
	// address) may make per RateWindow; the public routes are not
	// counted. The default value, 0, means no limit.
	RateLimit int
	// RateWindow is the rate limit's window. The default value is 1m.
	RateWindow time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// names the client (auth.TrustedProxies.ClientAddr). The client
	// address is found before any Middleware runs (auth.ClientAddr reads
	// it, for logs too) and keys the rate limit of anonymous callers. The
	// default value trusts no one: the TCP peer is the client.
	TrustedProxies auth.TrustedProxies
	// MaxBodyBytes caps request bodies (413 beyond). The default value is
	// 1 MiB.
	MaxBodyBytes int64
	// BodyTimeout bounds the arrival of a whole request body other than an
	// upload's (those follow Writes' rate rules): past it the request is
	// answered 408 and its connection closed. The default value is 30s.
	BodyTimeout time.Duration
	// BodyTimeouts counts the bodies cut by BodyTimeout or the upload rate
	// rules; nil counts nothing.
	BodyTimeouts BodyTimeouts
	// Writes configures uploads, copies and syncs (spool, caps,
	// concurrency).
	Writes Writes
	// Reads configures extract and files (concurrency, idle timeout, file
	// size cap).
	Reads Reads
	// Images configures the image table, inspect and referrers (row
	// limit, upstream concurrency).
	Images Images
	// Streams counts streamed bodies (extract tars, file reads); nil
	// counts nothing.
	Streams Streams
	// Insight counts the rows the image table computed and those it
	// answered with an error; nil counts nothing.
	Insight Insight
	// Stores counts the evictions of the answer memo, the image summaries
	// and the scoped clients; nil counts nothing.
	Stores StoreMetrics
	// Transfers counts what the write routes did: each tag a sync
	// finished, upload bytes received and each upload's outcome; nil
	// counts nothing.
	Transfers Transfers

	// CursorKey seals the opaque cursors of repository listings: at least
	// MinCursorKeyBytes of secret, from which the AES-256-GCM key is
	// derived. Every replica given the same key accepts the others'
	// cursors, across restarts. The default value, nil, leaves the key to
	// CursorSecrets.
	CursorKey []byte
	// CursorSecrets, when set and CursorKey is not, is where the replicas
	// agree on a random cursor key (the shared cache tier). Until it
	// answers, this process seals with a key of its own, asks again every
	// second, and once it has switched keeps opening what it sealed
	// before. The default value, nil, with no CursorKey: the key is the
	// process's own, and its cursors fail on other replicas and after a
	// restart.
	CursorSecrets SharedSecrets

	// listBudget bounds the upstream names one repositories listing reads
	// (defaultListBudget when 0); tests shrink it to cross it cheaply.
	listBudget int
	// UI, when set, serves GET and HEAD /ui and everything below /ui/
	// (the browser UI: static files that read this API). Its routes are
	// public and not rate-limited, as the probes: they hold no registry
	// data, and every API call the UI makes is checked as any other.
	UI http.Handler
}
