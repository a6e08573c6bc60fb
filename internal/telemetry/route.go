package telemetry

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/go-chi/chi/v5"
)

// Route label values used when no pattern applies.
const (
	// RouteUnmatched labels requests no route matched (404, 405).
	RouteUnmatched = "unmatched"
	// RouteOther labels requests whose route name arrived after maxRoutes
	// distinct names had been seen.
	RouteOther = "other"
)

// maxRoutes bounds the distinct values of the route label. regapi has a few
// dozen routes; a handler that passes a raw path to SetRoute by mistake must
// not grow the series without bound.
const maxRoutes = 200

type routeKey struct{}

// routeHolder is placed in the request context by the middleware so that an
// inner handler can name its route; the middleware reads it after the
// handler returned.
type routeHolder struct {
	route atomic.Pointer[string]
}

// SetRoute names the route of the request carrying ctx, overriding chi's
// route pattern in metrics and logs. Handlers behind a wildcard route call
// it with a pattern of their own, e.g. "/api/v1/repos/{registry}/{repo}/tags";
// it must be one of a fixed set, never a raw path. It reports whether the
// telemetry middleware is installed for the request.
func SetRoute(ctx context.Context, pattern string) bool {
	h, _ := ctx.Value(routeKey{}).(*routeHolder)
	if h == nil || pattern == "" {
		return false
	}
	h.route.Store(&pattern)
	return true
}

// resolveRoute returns the route name set by a handler, else chi's pattern,
// else RouteUnmatched. Call it after the handler ran: chi fills the pattern
// while routing.
func resolveRoute(r *http.Request, h *routeHolder) string {
	if p := h.route.Load(); p != nil {
		return *p
	}
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		if p := rctx.RoutePattern(); p != "" {
			return p
		}
	}
	return RouteUnmatched
}

// routeSet admits at most max distinct route names.
type routeSet struct {
	max  int
	mu   sync.RWMutex
	seen map[string]struct{}
}

func newRouteSet(max int) *routeSet {
	return &routeSet{max: max, seen: make(map[string]struct{})}
}

// admit returns route if it was seen before or there is room, else RouteOther.
func (s *routeSet) admit(route string) string {
	s.mu.RLock()
	_, ok := s.seen[route]
	s.mu.RUnlock()
	if ok {
		return route
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[route]; ok {
		return route
	}
	if len(s.seen) >= s.max {
		return RouteOther
	}
	s.seen[route] = struct{}{}
	return route
}

// methodLabel keeps the method label bounded: a client may send any token
// as a method.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}
