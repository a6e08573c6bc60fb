package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/registry"
)

// NewServer returns regapi's HTTP API as a handler: every route of
// api/openapi.yaml, served from cfg's upstreams.
func NewServer(cfg Config) http.Handler {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	platform := cfg.DefaultPlatform
	if platform.OS == "" || platform.Architecture == "" {
		platform = registry.DefaultPlatform
	}
	ready := cfg.Ready
	if ready == nil {
		ready = func() bool { return true }
	}
	ups := newUpstreams(cfg.Upstreams, evictedFunc(cfg.Stores, storeScopedClients))

	mux := chi.NewRouter()
	// Outermost: whatever logs or rate-limits reads the client address.
	mux.Use(auth.ClientAddresses(cfg.TrustedProxies))
	mux.Use(withOutcome)
	for _, mw := range cfg.Middleware {
		mux.Use(mw)
	}
	for _, mw := range securityMiddleware(cfg, logger) {
		mux.Use(mw)
	}
	mux.NotFound(handleNotFound(logger))
	mux.MethodNotAllowed(handleMethodNotAllowed(logger, mux))
	addUI(mux, cfg.UI)
	addFrontDoor(mux, cfg.UI != nil)
	addRoutes(mux, logger, ups, platform, ready, cfg.Cache, cfg.Metrics, cfg.Writes.withDefaults(), cfg.Reads.withDefaults(), streamsOr(cfg.Streams), transfersOr(cfg.Transfers),
		listConfig{keys: newCursorKeyring(cfg.CursorKey, cfg.CursorSecrets, logger), budget: cfg.listBudget}, newInsight(logger, cfg.Images, cfg.Insight, cfg.Stores),
		newAnswerMemo(evictedFunc(cfg.Stores, storeAnswerMemo)))
	return mux
}

// upstreams finds configured registries by name.
type upstreams struct {
	list   []Upstream
	byName map[string]Upstream
	scoped *scopedClients
}

func newUpstreams(list []Upstream, evicted func()) *upstreams {
	u := &upstreams{list: list, byName: make(map[string]Upstream, len(list)), scoped: newScopedClients(evicted)}
	for _, up := range list {
		u.byName[up.Name] = up
	}
	return u
}

// get returns the upstream called name or a REGISTRY_UNKNOWN error.
func (u *upstreams) get(name string) (Upstream, error) {
	up, ok := u.byName[name]
	if !ok || up.Client == nil {
		return Upstream{}, errorf(codeRegistryUnknown, "no registry named %q is configured", truncate(name))
	}
	return up, nil
}

// repoTarget is a parsed repository request and the upstream it names.
type repoTarget struct {
	repoRequest
	Upstream Upstream
	scoped   *scopedClients
}

// client returns the upstream's client scoped to the repository path.
func (t repoTarget) client() registry.Client {
	if t.Repository == "" {
		return t.Upstream.Client
	}
	return t.scoped.get(t.Upstream, t.Repository, t.segments)
}

type repoTargetKey struct{}

// repoTargetFrom returns what handleRepos parsed for the request.
func repoTargetFrom(ctx context.Context) repoTarget {
	t, _ := ctx.Value(repoTargetKey{}).(repoTarget)
	return t
}

// handleRepos serves /api/v1/repos/*: it parses and validates the path,
// records the logical route for metrics, resolves the upstream and hands
// over to the action's handler.
func handleRepos(logger *slog.Logger, ups *upstreams, actions map[string]http.Handler) http.Handler {
	for _, rt := range repoRoutes {
		if actions[rt.Action] == nil {
			panic("handlers: no handler for repository action " + rt.Action)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rr, err := parseRepoPath(strings.TrimPrefix(r.URL.Path, reposPrefix))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		setRoutePattern(r, rr.Route.Pattern)
		if !rr.Route.allows(r.Method) {
			w.Header().Set("Allow", strings.Join(rr.Route.Methods, ", "))
			writeError(w, r, logger, errorf(codeMethodNotAllowed, "%s does not serve %s", rr.Route.Pattern, r.Method))
			return
		}
		// Parsed and valid, nothing looked up yet: the answer to a caller
		// without the scope never depends on what exists upstream.
		if err := authorizeRepo(r.Context(), r.Method, rr); err != nil {
			writeError(w, r, logger, err)
			return
		}
		up, err := ups.get(rr.Registry)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		ctx := context.WithValue(r.Context(), repoTargetKey{}, repoTarget{repoRequest: rr, Upstream: up, scoped: ups.scoped})
		actions[rr.Route.Action].ServeHTTP(w, r.WithContext(ctx))
	})
}

// setRoutePattern replaces the wildcard pattern chi matched with the
// logical route, so that metrics label by route, never by raw path.
func setRoutePattern(r *http.Request, pattern string) {
	r.Pattern = pattern
	rctx := chi.RouteContext(r.Context())
	if rctx == nil {
		return
	}
	if n := len(rctx.RoutePatterns); n > 0 {
		rctx.RoutePatterns[n-1] = pattern
	} else {
		rctx.RoutePatterns = append(rctx.RoutePatterns, pattern)
	}
}

func handleNotFound(logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, logger, errorf(codeNotFound, "no route for %s", truncate(r.URL.Path)))
	}
}

func handleMethodNotAllowed(logger *slog.Logger, routes chi.Routes) http.HandlerFunc {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete}
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range methods {
			if routes.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, r, logger, errorf(codeMethodNotAllowed, "%s is not served for %s", r.Method, truncate(r.URL.Path)))
	}
}
