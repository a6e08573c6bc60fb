package telemetry

import (
	"net/http"
	"sync"

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
// dozen routes; a handler that names its route with a raw path by mistake
// must not grow the series without bound.
const maxRoutes = 200

// resolveRoute returns chi's route pattern, else RouteUnmatched. Call it
// after the handler ran: chi fills the pattern while routing, and a handler
// behind a wildcard names its logical route by replacing the last pattern
// in chi's routing context (as internal/handlers does).
func resolveRoute(r *http.Request) string {
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
