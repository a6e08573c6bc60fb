package telemetry

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/cache"
)

// Middleware measures and logs every request. Install it with chi's Use on
// the router, or around a chi router: chi's route pattern is read from the
// routing context after the handler ran, and when the request has no routing
// context yet the middleware installs a fresh one, which chi then fills
// instead of a pooled one. Install AssignRequestID before it.
//
// For each request it
//   - puts a fresh cache.Outcome (cache.WithOutcome) in the context, which
//     the cache reports into;
//   - wraps the ResponseWriter to learn the status and body size, keeping
//     http.Flusher and http.ResponseController working;
//   - records regapi_http_requests_total{route,method,code},
//     regapi_http_request_duration_seconds{route,method} and
//     regapi_http_requests_in_flight;
//   - writes one "request" line at Info with request_id, client (the client
//     address as auth.ClientAddrString tells it: the peer, or behind trusted
//     proxies the address they name; install auth.ClientAddresses before
//     the middleware for the latter), method, route, path, status,
//     duration_us, bytes, cache (HIT, MISS, STALE or "") and, when
//     the client went away first or the handler aborted the response with
//     http.ErrAbortHandler, aborted=true.
//
// A panic in the handler is recorded as status 500 (http.ErrAbortHandler as
// the status already sent) and then re-raised.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.httpInFlight.Inc()
		defer m.httpInFlight.Dec()

		ctx := r.Context()
		if chi.RouteContext(ctx) == nil {
			ctx = context.WithValue(ctx, chi.RouteCtxKey, chi.NewRouteContext())
		}
		ctx, outcome := cache.WithOutcome(ctx)
		r = r.WithContext(ctx)
		rw := &responseWriter{ResponseWriter: w}

		panicked := true
		defer func() {
			if !panicked {
				return
			}
			p := recover()
			// http.ErrAbortHandler cuts a response short on purpose (a
			// stream that failed midway): the client saw the status already
			// sent. Any other panic is a 500, whoever writes it.
			status, aborted := http.StatusInternalServerError, false
			if p == http.ErrAbortHandler { //nolint:errorlint // a panic value, compared as net/http compares it
				aborted = true
				if rw.status != 0 {
					status = rw.status
				}
			}
			m.observe(r, rw, outcome, start, status, aborted)
			panic(p)
		}()
		next.ServeHTTP(rw, r)
		panicked = false
		m.observe(r, rw, outcome, start, rw.statusCode(), false)
	})
}

// observe records one finished request in the metrics and the access log.
func (m *Metrics) observe(r *http.Request, rw *responseWriter, outcome *cache.Outcome, start time.Time, status int, aborted bool) {
	end := time.Now()
	elapsed := end.Sub(start)
	route := m.routes.admit(resolveRoute(r))
	method := methodLabel(r.Method)
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(elapsed.Seconds())

	ctx := r.Context()
	h := m.logger.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	// The record goes to the handler directly: Logger.LogAttrs would walk
	// the stack for a source position no handler here prints, on every
	// request.
	cacheStatus, age := outcome.Result()
	rec := slog.NewRecord(end, slog.LevelInfo, "request", 0)
	rec.AddAttrs(
		slog.String("request_id", RequestID(ctx)),
		slog.String("client", auth.ClientAddrString(r)),
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		// Whole microseconds: slog's JSON handler formats a float
		// through encoding/json, 4% of a cached answer's CPU.
		slog.Int64("duration_us", elapsed.Microseconds()),
		slog.Int64("bytes", rw.bytes),
		slog.String("cache", string(cacheStatus)),
	)
	if age > 0 {
		rec.AddAttrs(slog.Float64("cache_age_s", age.Seconds()))
	}
	if aborted || ctx.Err() != nil {
		rec.AddAttrs(slog.Bool("aborted", true))
	}
	_ = h.Handle(ctx, rec)
}
