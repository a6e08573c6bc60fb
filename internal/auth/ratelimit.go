package auth

import (
	"encoding/json"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/go-chi/httprate"
)

// RateLimit allows each caller at most requests requests per window and
// answers the rest 429 with Retry-After and a problem+json body with code
// TOOMANYREQUESTS. See RateLimitWith.
func RateLimit(requests int, window time.Duration) func(http.Handler) http.Handler {
	return RateLimitWith(requests, window, writeTooManyRequests)
}

// RateLimitWith is RateLimit answering through writeError, which receives
// an error wrapping ErrRateLimited; the Retry-After header is already set.
//
// A caller is a token (keyed by its name, so one token shares its budget
// across addresses) or, for anonymous and unauthenticated requests, the
// client address (IPv6 by /64) as ClientAddr finds it. It must run after
// Middleware. Behind a reverse proxy, install ClientAddresses with the
// proxy's addresses outermost, or every anonymous caller shares the
// proxy's budget; never rewrite RemoteAddr from a header anyone can send
// (chi's middleware.RealIP), which lets a caller choose its own budget. A
// requests value of zero or less disables the limit.
func RateLimitWith(requests int, window time.Duration, writeError func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	if requests <= 0 || window <= 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	// Retry-After is whole seconds (RFC 9110 section 10.2.3); round a
	// sub-second window up so that it never says 0.
	retry := strconv.Itoa(max(1, int(math.Ceil(window.Seconds()))))
	onLimit := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", retry)
		writeError(w, r, ErrRateLimited)
	}
	return httprate.LimitBy(requests, window, func(r *http.Request) (string, error) { return CallerKey(r), nil },
		httprate.WithLimitHandler(onLimit),
		// The in-memory counter never fails; should one, refuse rather
		// than echo its error text as httprate's default does.
		httprate.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, _ error) { onLimit(w, r) }),
	)
}

// CallerKey names the caller of r, as the rate limit counts callers: a
// token by its name ("token:ci"), so that one token is one caller from any
// address; an anonymous or unauthenticated request by its client address,
// an IPv6 one by its /64 ("ip:192.0.2.1", "ip:2001:db8::/64"). Other
// per-caller bounds (the handlers' share of the read slots) use it too, so
// that a caller is the same thing everywhere. It must run after Middleware
// and ClientAddresses. The key names no secret.
func CallerKey(r *http.Request) string {
	if p, err := FromContext(r.Context()); err == nil && !p.Anonymous() {
		return "token:" + p.Name()
	}
	return addrKey(ClientAddr(r), r.RemoteAddr)
}

// addrKey is the bucket of an anonymous caller at a: the address, or for
// IPv6 its /64, which one host usually holds whole. Without an address the
// bucket is RemoteAddr as it stands.
func addrKey(a netip.Addr, remoteAddr string) string {
	if !a.IsValid() {
		return "ip:" + remoteAddr
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + a.String()
}

// writeTooManyRequests writes the RFC 9457 problem the handlers' catalog
// uses for TOOMANYREQUESTS.
func writeTooManyRequests(w http.ResponseWriter, _ *http.Request, _ error) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusTooManyRequests)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type":   "urn:regapi:problem:TOOMANYREQUESTS",
		"title":  "Too many requests",
		"status": http.StatusTooManyRequests,
		"detail": "rate limit exceeded; retry after the number of seconds in Retry-After",
		"code":   "TOOMANYREQUESTS",
	})
}
