package registry

import (
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Sentinel errors. Every error a Client returns wraps at most one of them and,
// for upstream answers, the *transport.Error it came from.
var (
	// ErrImageNotFound: the manifest does not exist (MANIFEST_UNKNOWN, or a
	// bare 404 to a HEAD request).
	ErrImageNotFound = errors.New("image not found")
	// ErrRepositoryNotFound: the repository does not exist (NAME_UNKNOWN).
	// It also matches ErrImageNotFound.
	ErrRepositoryNotFound = &repoNotFound{}
	// ErrAccessDenied: the registry refused the credentials (401, 403,
	// UNAUTHORIZED, DENIED).
	ErrAccessDenied = errors.New("access denied")
	// ErrRateLimited: the registry answered 429 or TOOMANYREQUESTS. The
	// error is a *RateLimitError carrying the delay the registry asked for.
	ErrRateLimited = errors.New("rate limited")
	// ErrCatalogNotSupported: the registry has no usable /v2/_catalog.
	ErrCatalogNotSupported = errors.New("catalog not supported by registry")
	// ErrInvalidName: a repository path breaks the OCI name grammar.
	ErrInvalidName = errors.New("invalid repository name")
	// ErrInvalidReference: a reference is neither a tag nor a digest.
	ErrInvalidReference = errors.New("invalid reference")
	// ErrPlatformNotFound: an index has no manifest for the platform asked
	// for. The error is a *PlatformNotFoundError listing what it has.
	ErrPlatformNotFound = errors.New("platform not found in index")
	// ErrManifestTooLarge: a manifest exceeded the size cap.
	ErrManifestTooLarge = errors.New("manifest too large")
	// ErrUpstreamInvalid: the registry answered something regapi cannot
	// use: a pagination that loops, a listing past its bounds or with a
	// name that breaks the grammar, a config larger than
	// Options.MaxManifestBytes or unlike its descriptor, or a token realm
	// or foreign layer URL that go-containerregistry refuses. (A host the
	// client itself refuses is ErrHostRefused.)
	ErrUpstreamInvalid = errors.New("upstream answer unusable")
)

// repoNotFound is ErrRepositoryNotFound's type, so that it can also match
// ErrImageNotFound.
type repoNotFound struct{}

func (*repoNotFound) Error() string        { return "repository not found" }
func (*repoNotFound) Is(target error) bool { return target == ErrImageNotFound }

// RateLimitError is returned when the registry rate-limits a request.
type RateLimitError struct {
	// RetryAfter is the delay from the registry's Retry-After header, or zero.
	RetryAfter time.Duration
	// Err is the upstream error.
	Err error
}

func (e *RateLimitError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("rate limited (retry after %s): %v", e.RetryAfter, e.Err)
	}
	return fmt.Sprintf("rate limited: %v", e.Err)
}

// Is reports whether target is ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// Unwrap returns the upstream error.
func (e *RateLimitError) Unwrap() error { return e.Err }

// PlatformNotFoundError is returned when an index lacks the platform asked for.
type PlatformNotFoundError struct {
	// Platform is the platform asked for.
	Platform v1.Platform
	// Available lists the platforms the index has, in index order.
	Available []v1.Platform
}

func (e *PlatformNotFoundError) Error() string {
	names := make([]string, len(e.Available))
	for i, p := range e.Available {
		names[i] = p.String()
	}
	return fmt.Sprintf("platform %s not found in index (has %s)", e.Platform.String(), strings.Join(names, ", "))
}

// Is reports whether target is ErrPlatformNotFound.
func (e *PlatformNotFoundError) Is(target error) bool { return target == ErrPlatformNotFound }
