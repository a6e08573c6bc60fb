package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/regapi/regapi/internal/auth"
)

// defaultMaxBodyBytes caps request bodies when Config.MaxBodyBytes is
// zero: the API's bodies are small JSON documents (copy and sync
// requests), 1 MiB leaves them ample room.
const defaultMaxBodyBytes = 1 << 20

// publicPaths are the routes every caller may use without a token: probes,
// the API contract and metrics. They are not rate-limited either, so that
// a kubelet probing from one address never meets a 429.
var publicPaths = map[string]bool{
	"/healthz":      true,
	"/readyz":       true,
	"/openapi.yaml": true,
	"/metrics":      true,
}

// securityMiddleware returns, in order, CORS (outermost, so preflights are
// answered before authentication and 401/403/429 answers carry CORS
// headers), authentication (which only records the caller: each route
// decides), the per-caller rate limit and the request body cap.
func securityMiddleware(cfg Config, logger *slog.Logger) []func(http.Handler) http.Handler {
	timeout := cfg.BodyTimeout
	if timeout <= 0 {
		timeout = defaultBodyTimeout
	}
	var counter BodyTimeouts = nopBodyTimeouts{}
	if cfg.BodyTimeouts != nil {
		counter = cfg.BodyTimeouts
	}
	// First: a body gets its deadline before anything else runs.
	mws := []func(http.Handler) http.Handler{boundBody(timeout, counter), auth.CORS(cfg.CORSOrigins)}
	if cfg.Auth != nil {
		// Without an Authorizer nothing is recorded and auth.FromContext
		// fails closed: every non-public route answers 401.
		mws = append(mws, cfg.Auth.Middleware)
	}
	window := cfg.RateWindow
	if window <= 0 {
		window = defaultRateWindow
	}
	limit := auth.RateLimitWith(cfg.RateLimit, window, func(w http.ResponseWriter, r *http.Request, err error) {
		writeError(w, r, logger, err)
	})
	mws = append(mws, exceptPublic(limit))
	maxBody := cfg.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = defaultMaxBodyBytes
	}
	return append(mws, limitBody(maxBody))
}

// exceptPublic applies mw to every route but the public ones.
func exceptPublic(mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		wrapped := mw(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if publicPaths[r.URL.Path] {
				next.ServeHTTP(w, r)
				return
			}
			wrapped.ServeHTTP(w, r)
		})
	}
}

type rawBodyKey struct{}

// limitBody caps every request body at max bytes: a handler reading more
// gets an *http.MaxBytesError (answered 413) and the connection is closed
// after the response. Routes that take image uploads read the body through
// uploadBody instead, with their own cap.
func limitBody(max int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody {
				ctx := context.WithValue(r.Context(), rawBodyKey{}, r.Body)
				r = r.WithContext(ctx)
				r.Body = http.MaxBytesReader(w, r.Body, max)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// uploadBody returns r's body capped at limit bytes rather than the
// server-wide body cap, for routes whose bodies are images. Call it only
// after the caller was authorized: nothing unauthenticated is read.
func uploadBody(w http.ResponseWriter, r *http.Request, limit int64) io.ReadCloser {
	raw, ok := r.Context().Value(rawBodyKey{}).(io.ReadCloser)
	if !ok {
		raw = r.Body
	}
	if raw == nil {
		return http.NoBody
	}
	return http.MaxBytesReader(w, raw, limit)
}

// defaultBodyTimeout is Config.BodyTimeout's default: the API's JSON
// bodies are at most 1 MiB.
const defaultBodyTimeout = 30 * time.Second

// requireSome answers 401 or 403 before next reads the body when the
// caller may not do action anywhere: copy and sync learn what they touch
// only from their bodies, and nothing an unauthorized caller sends is read.
func requireSome(logger *slog.Logger, action auth.Action, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := auth.FromContext(r.Context())
		if err == nil {
			err = p.CheckSome(action)
		}
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// defaultRateWindow is the window Config.RateLimit counts in when
// Config.RateWindow is zero.
const defaultRateWindow = time.Minute

// authorizeRepo checks that the caller may do what rr asks: listings need
// pull somewhere at or below the path (their answer is then filtered), an
// image upload needs push on the repository, every other read pull.
func authorizeRepo(ctx context.Context, rr repoRequest) error {
	p, err := auth.FromContext(ctx)
	if err != nil {
		return err
	}
	switch rr.Route.Action {
	case actionRepositories:
		return p.CheckUnder(auth.ActionPull, rr.Registry, rr.Repository)
	case actionImages:
		// An upload writes: push, decided before the body is read.
		return p.Check(auth.ActionPush, rr.Registry, rr.Repository)
	}
	return p.Check(auth.ActionPull, rr.Registry, rr.Repository)
}
