package telemetry

import (
	"context"
	"crypto/rand"
	"net/http"
)

// HeaderRequestID is the header that carries a request's ID, both ways.
const HeaderRequestID = "X-Request-Id"

// maxRequestIDLen caps a caller-supplied ID: long enough for a UUID, a W3C
// trace ID or a load balancer's ID with a prefix, short enough to keep log
// lines small.
const maxRequestIDLen = 128

type requestIDKey struct{}

// AssignRequestID is a middleware that gives every request an ID: the
// caller's X-Request-Id when it is sane (1 to 128 characters of letters,
// digits and -_.:+/=@), a freshly generated one otherwise. The ID is set on
// the response, on the request's header and in its context (see RequestID),
// so it should run before every middleware that logs.
func AssignRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderRequestID)
		if !validRequestID(id) {
			id = newRequestID()
			r.Header.Set(HeaderRequestID, id)
		}
		w.Header().Set(HeaderRequestID, id)
		next.ServeHTTP(w, r.WithContext(ContextWithRequestID(r.Context(), id)))
	})
}

// RequestID returns the request ID carried by ctx, or "" when there is none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// ContextWithRequestID returns a context that carries id, for work that does
// not start with an HTTP request (background refreshes, tests).
func ContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// newRequestID returns 128 random bits as 26 base32 characters.
func newRequestID() string {
	return rand.Text()
}

// validRequestID accepts IDs that are safe to echo in a header and to print
// in a text log line unquoted: no spaces, quotes, control or non-ASCII bytes.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '+', c == '/', c == '=', c == '@':
		default:
			return false
		}
	}
	return true
}
