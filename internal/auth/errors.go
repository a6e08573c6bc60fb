package auth

import "errors"

// reasonError is a sentinel with a reason written for the caller: it
// names what was wrong with the request, never a secret or a header value.
type reasonError struct {
	sentinel error
	reason   string
}

func (e *reasonError) Error() string { return e.sentinel.Error() + ": " + e.reason }
func (e *reasonError) Unwrap() error { return e.sentinel }

func unauthenticated(reason string) error {
	return &reasonError{sentinel: ErrUnauthenticated, reason: reason}
}

// Reason returns what an error of this package says to the caller, or ""
// when err carries no such reason.
func Reason(err error) string {
	var re *reasonError
	if errors.As(err, &re) {
		return re.reason
	}
	return ""
}

// Sentinel errors. Every error Authenticate, FromContext and Authorize
// return wraps exactly one of them; none of them quotes a secret.
var (
	// ErrUnauthenticated: no usable credentials. The caller sent no token
	// where one is required, a token regapi does not know, or a malformed
	// Authorization header. Answer 401 with the Challenge header.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrDenied: the caller is known but its scopes do not cover the
	// request. Answer 403 DENIED.
	ErrDenied = errors.New("denied")
	// ErrRateLimited: the caller exceeded its request rate. Answer 429
	// TOOMANYREQUESTS with Retry-After.
	ErrRateLimited = errors.New("rate limit exceeded")
)

// Challenge is the WWW-Authenticate header value to send with every 401.
const Challenge = `Bearer realm="regapi"`
