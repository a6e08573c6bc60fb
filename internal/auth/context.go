package auth

import (
	"context"
	"fmt"
	"net/http"
)

// ctxKey is the context key of an authentication result.
type ctxKey struct{}

// result is what the middleware learned about a request.
type result struct {
	principal Principal
	err       error
}

// Middleware authenticates every request and stores the outcome in its
// context for FromContext. It never answers by itself: routes that are
// public (health, readiness, the OpenAPI document, metrics) ignore the
// outcome, the others call Authorize or FromContext and answer the error.
func (a *Authorizer) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r)
		ctx := context.WithValue(r.Context(), ctxKey{}, result{principal: p, err: err})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// FromContext returns the caller the Middleware authenticated, or the
// error it met. Without the Middleware it fails closed with
// ErrUnauthenticated.
func FromContext(ctx context.Context) (Principal, error) {
	res, ok := ctx.Value(ctxKey{}).(result)
	if !ok {
		return Principal{}, fmt.Errorf("%w: request was not authenticated", ErrUnauthenticated)
	}
	return res.principal, res.err
}

// Authorize is FromContext followed by Principal.Check: nil when the
// caller may perform action on the repository of the registry, otherwise
// an error wrapping ErrUnauthenticated or ErrDenied.
func Authorize(ctx context.Context, action Action, registry, repository string) error {
	p, err := FromContext(ctx)
	if err != nil {
		return err
	}
	return p.Check(action, registry, repository)
}
