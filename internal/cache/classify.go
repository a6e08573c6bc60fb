package cache

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/regapi/regapi/internal/registry"
)

// isNotFound reports whether err is an answer worth remembering briefly: the
// manifest or repository does not exist. ErrRepositoryNotFound also matches
// ErrImageNotFound.
func isNotFound(err error) bool {
	return errors.Is(err, registry.ErrImageNotFound)
}

// isTransient reports whether err says the registry could not answer right
// now (5xx, 429, timeout, connection failure), as opposed to answering "no".
// Only such failures let an expired entry be served stale.
func isTransient(err error) bool {
	if errors.Is(err, registry.ErrRateLimited) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te *transport.Error
	if errors.As(err, &te) {
		// 5xx and 429, spelled as numbers: the cache knows registry
		// answers, not the HTTP package (see depcheck_test.go).
		return te.StatusCode >= 500 || te.StatusCode == 429
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET)
}

// retryAfter returns the delay a rate-limited registry asked for, or zero.
func retryAfter(err error) time.Duration {
	var rl *registry.RateLimitError
	if errors.As(err, &rl) {
		return rl.RetryAfter
	}
	return 0
}
