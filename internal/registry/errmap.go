package registry

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/regapi/regapi/internal/redact"
)

// kind says how a bare 404 is read, which depends on what was asked for.
type kind int

const (
	kindManifest kind = iota // manifests and blobs: ErrImageNotFound
	kindTags                 // tags/list: ErrRepositoryNotFound
	kindCatalog              // _catalog: ErrCatalogNotSupported
)

// classify maps an upstream error to the sentinel it matches, or nil.
func classify(terr *transport.Error, k kind) error {
	codes := map[transport.ErrorCode]bool{}
	for _, d := range terr.Errors {
		codes[d.Code] = true
	}
	switch {
	case terr.StatusCode == http.StatusTooManyRequests || codes[transport.TooManyRequestsErrorCode]:
		return ErrRateLimited
	case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden ||
		codes[transport.UnauthorizedErrorCode] || codes[transport.DeniedErrorCode]:
		return ErrAccessDenied
	case k == kindCatalog && (terr.StatusCode == http.StatusNotFound || terr.StatusCode == http.StatusMethodNotAllowed ||
		codes[transport.UnsupportedErrorCode]):
		return ErrCatalogNotSupported
	case codes[transport.NameUnknownErrorCode]:
		return ErrRepositoryNotFound
	case codes[transport.ManifestUnknownErrorCode] || codes[transport.BlobUnknownErrorCode]:
		return ErrImageNotFound
	case terr.StatusCode == http.StatusNotFound && k == kindTags:
		return ErrRepositoryNotFound
	case terr.StatusCode == http.StatusNotFound:
		return ErrImageNotFound
	}
	return nil
}

// mapError attaches the matching sentinel to err, keeping err (and the
// *transport.Error in it) reachable for errors.As.
func mapError(err error, k kind, st *callState) error {
	if err == nil {
		return nil
	}
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return markRefusal(err)
	}
	switch s := classify(terr, k); s {
	case nil:
		return err
	case ErrRateLimited: //nolint:errorlint // classify returns a bare sentinel, never a wrapped one
		var ra time.Duration
		if st != nil {
			ra = time.Duration(st.retryAfter.Load())
		}
		return &RateLimitError{RetryAfter: ra, Err: err}
	default:
		return &upstreamError{sentinel: s, err: err}
	}
}

// ggcrRefusals are the starts of go-containerregistry's refusals of what a
// registry sent (it returns them as bare strings): a token realm or a
// foreign layer URL at a private or link-local address, or with a scheme
// it does not allow (pkg/v1/remote/transport/bearer.go and
// pkg/v1/remote/fetcher.go, v0.22). TestHostileUpstreamIsBadGateway in
// internal/handlers fails when a new ggcr words them otherwise.
var ggcrRefusals = []string{
	"invalid realm in www-authenticate",
	"refusing token-server redirect",
	"foreign layer URL", // also "parsing foreign layer URL"
}

// ggcrBadBodies are the starts of go-containerregistry's errors for a body
// that is not what was asked for: a manifest whose bytes hash to another
// digest (pkg/v1/remote/fetcher.go) and a blob whose bytes or size do not
// verify (internal/verify), v0.22.
var ggcrBadBodies = []string{
	"does not match requested digest",
	"error verifying sha256 checksum",
	"error verifying size",
}

// markRefusal attaches ErrUpstreamInvalid to what shows that the registry
// sent something unusable: ggcr's refusals of a realm or a URL, a body cut
// short (the connection closed before the declared length), a body that
// does not match its digest. Any other err is returned as is.
func markRefusal(err error) error {
	if err == nil || errors.Is(err, ErrUpstreamInvalid) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &upstreamError{sentinel: ErrUpstreamInvalid, err: err}
	}
	msg := err.Error()
	for _, list := range [][]string{ggcrRefusals, ggcrBadBodies} {
		for _, r := range list {
			if strings.Contains(msg, r) {
				return &upstreamError{sentinel: ErrUpstreamInvalid, err: err}
			}
		}
	}
	return err
}

// upstreamError is an upstream failure classified as one of the sentinels.
type upstreamError struct {
	sentinel error
	err      error
}

func (e *upstreamError) Error() string   { return e.sentinel.Error() + ": " + e.err.Error() }
func (e *upstreamError) Unwrap() []error { return []error{e.sentinel, e.err} }

// opError is what every Client method returns on failure: the operation, the
// target and the cause, with URL query strings (signed blob URLs, tokens)
// redacted from the text.
type opError struct {
	op     string
	target string
	err    error
}

func (e *opError) Error() string { return redact.Text(fmt.Sprintf("%s %s: %v", e.op, e.target, e.err)) }
func (e *opError) Unwrap() error { return e.err }
