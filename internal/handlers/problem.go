package handlers

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/extract"
	"github.com/regapi/regapi/internal/redact"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/transfer"
)

// problemCode is one entry of the error catalog: a stable machine-readable
// code, a human title and the HTTP status it is answered with.
type problemCode struct {
	Code   string
	Title  string
	Status int
}

// The error catalog, declared once: first the codes of bad input, unknown
// names, caller access and upstream failures; then those of an unknown
// route, a method a route does not serve, a query parameter other than
// paging or platform, a registry without a usable catalog and a body over
// the cap; then each feature's own. api/openapi.yaml enumerates the same
// codes; a test keeps the two in step.
var (
	codeNameInvalid         = &problemCode{"NAME_INVALID", "Invalid repository name", http.StatusBadRequest}
	codeReferenceInvalid    = &problemCode{"REFERENCE_INVALID", "Invalid reference", http.StatusBadRequest}
	codeDigestInvalid       = &problemCode{"DIGEST_INVALID", "Invalid digest", http.StatusBadRequest}
	codePlatformInvalid     = &problemCode{"PLATFORM_INVALID", "Invalid platform", http.StatusBadRequest}
	codePaginationInvalid   = &problemCode{"PAGINATION_INVALID", "Invalid pagination parameters", http.StatusBadRequest}
	codeRegistryUnknown     = &problemCode{"REGISTRY_UNKNOWN", "Unknown registry", http.StatusNotFound}
	codeNameUnknown         = &problemCode{"NAME_UNKNOWN", "Unknown repository", http.StatusNotFound}
	codeManifestUnknown     = &problemCode{"MANIFEST_UNKNOWN", "Unknown manifest", http.StatusNotFound}
	codePlatformUnknown     = &problemCode{"PLATFORM_UNKNOWN", "Platform not in index", http.StatusNotFound}
	codeUnauthorized        = &problemCode{"UNAUTHORIZED", "Authentication required", http.StatusUnauthorized}
	codeDenied              = &problemCode{"DENIED", "Access denied", http.StatusForbidden}
	codeTooManyRequests     = &problemCode{"TOOMANYREQUESTS", "Too many requests", http.StatusTooManyRequests}
	codeUpstreamDenied      = &problemCode{"UPSTREAM_DENIED", "Upstream registry refused regapi's credentials", http.StatusBadGateway}
	codeUpstreamUnavailable = &problemCode{"UPSTREAM_UNAVAILABLE", "Upstream registry unavailable", http.StatusBadGateway}
	codeUpstreamTimeout     = &problemCode{"UPSTREAM_TIMEOUT", "Upstream registry timed out", http.StatusGatewayTimeout}
	codeInternal            = &problemCode{"INTERNAL", "Internal error", http.StatusInternalServerError}

	codeNotFound           = &problemCode{"NOT_FOUND", "No such route", http.StatusNotFound}
	codeMethodNotAllowed   = &problemCode{"METHOD_NOT_ALLOWED", "Method not allowed", http.StatusMethodNotAllowed}
	codeParameterInvalid   = &problemCode{"PARAMETER_INVALID", "Invalid query parameter", http.StatusBadRequest}
	codeCatalogUnsupported = &problemCode{"CATALOG_UNSUPPORTED", "Registry cannot list repositories", http.StatusNotImplemented}
	codeBodyTooLarge       = &problemCode{"BODY_TOO_LARGE", "Request body too large", http.StatusRequestEntityTooLarge}

	// The write routes' own: a copy or sync request that is not the JSON
	// expected, and an upload that is not a usable image tarball.
	codeBodyInvalid    = &problemCode{"BODY_INVALID", "Invalid request body", http.StatusBadRequest}
	codeTarballInvalid = &problemCode{"TARBALL_INVALID", "Invalid image tarball", http.StatusBadRequest}
	// A request body that did not arrive within its time (the body
	// timeout, or an upload's rate rules).
	codeRequestTimeout = &problemCode{"REQUEST_TIMEOUT", "Request body too slow", http.StatusRequestTimeout}
	// A request line or headers over the server's bounds.
	codeURITooLong      = &problemCode{"URI_TOO_LONG", "Request URI too long", http.StatusRequestURITooLong}
	codeHeadersTooLarge = &problemCode{"HEADERS_TOO_LARGE", "Request headers too large", http.StatusRequestHeaderFieldsTooLarge}

	// The image-reading routes' own (extract, files): a path inside the
	// image that is not clean, one the image does not have, a file over
	// the cap, layers that cannot be read as a filesystem within the
	// limits (a decompression bomb, a layer that is not a tar), and the
	// concurrency limit.
	codePathInvalid        = &problemCode{"PATH_INVALID", "Invalid path inside the image", http.StatusBadRequest}
	codeFileUnknown        = &problemCode{"FILE_UNKNOWN", "No such file in the image", http.StatusNotFound}
	codeFileTooLarge       = &problemCode{"FILE_TOO_LARGE", "File too large", http.StatusRequestEntityTooLarge}
	codeLayerUnprocessable = &problemCode{"LAYER_UNPROCESSABLE", "Image layers cannot be read as a filesystem", http.StatusUnprocessableEntity}
	codeTooBusy            = &problemCode{"TOO_BUSY", "Too many image reads in progress", http.StatusServiceUnavailable}

	// An upstream that answered something regapi cannot use: a redirect
	// or token realm to a host it may not contact, a foreign layer, a
	// pagination that loops. The upstream's fault, not regapi's: 502.
	codeUpstreamInvalid = &problemCode{"UPSTREAM_INVALID", "Upstream registry answered something unusable", http.StatusBadGateway}
	// The image table's own: a sort or filter that needs every row, on a
	// repository with more tags than the server computes rows for.
	codeTooManyTags = &problemCode{"TOO_MANY_TAGS", "Too many tags for this sort or filter", http.StatusBadRequest}
)

// problemCodes lists the catalog in the order the OpenAPI enum does.
var problemCodes = []*problemCode{
	codeNameInvalid, codeReferenceInvalid, codeDigestInvalid, codePlatformInvalid,
	codePaginationInvalid, codeRegistryUnknown, codeNameUnknown, codeManifestUnknown,
	codePlatformUnknown, codeUnauthorized, codeDenied, codeTooManyRequests,
	codeUpstreamDenied, codeUpstreamUnavailable, codeUpstreamTimeout, codeInternal,
	codeNotFound, codeMethodNotAllowed, codeParameterInvalid, codeCatalogUnsupported,
	codeBodyTooLarge, codeBodyInvalid, codeTarballInvalid, codeRequestTimeout, codeURITooLong, codeHeadersTooLarge,
	codePathInvalid, codeFileUnknown, codeFileTooLarge, codeLayerUnprocessable, codeTooBusy,
	codeUpstreamInvalid,
	codeTooManyTags,
}

// problemTypePrefix makes the RFC 9457 "type" URI of a code. A URN rather
// than a web address: nothing has to be hosted for it to stay valid.
const problemTypePrefix = "urn:regapi:problem:"

// apiError is an error the HTTP layer decided on itself: bad input, an
// unknown registry, a platform the index lacks.
type apiError struct {
	code   *problemCode
	detail string
}

func (e *apiError) Error() string { return e.code.Code + ": " + e.detail }

// errorf builds an apiError with a formatted detail.
func errorf(code *problemCode, format string, args ...any) *apiError {
	return &apiError{code: code, detail: fmt.Sprintf(format, args...)}
}

// problem is the application/problem+json body (RFC 9457) plus regapi's code.
type problem struct {
	Type      string   `json:"type"`
	Title     string   `json:"title"`
	Status    int      `json:"status"`
	Detail    string   `json:"detail"`
	Code      string   `json:"code"`
	Platforms []string `json:"platforms,omitempty"`
}

// writeError is the one place that turns an error into a response. It maps
// err onto the catalog, logs server-side failures at Error and the caller's
// mistakes at Debug, and never puts upstream error text (which may carry
// URLs) in the body: details are written by regapi itself.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	ctx := r.Context()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// The caller went away; nobody reads what we would write.
		logger.DebugContext(ctx, "request canceled", "method", r.Method, "path", r.URL.Path)
		return
	}
	p, retryAfter := classify(err)
	switch {
	case p.Code == codeTooBusy.Code:
		// Back-pressure working as configured, not a failure; a burst
		// would otherwise flood the error log.
		logger.WarnContext(ctx, "request refused: busy", "method", r.Method, "path", r.URL.Path,
			"status", p.Status, "code", p.Code)
	case p.Status >= 500:
		logger.ErrorContext(ctx, "request failed", "method", r.Method, "path", r.URL.Path,
			"status", p.Status, "code", p.Code, "err", redact.Text(err.Error()))
	default:
		logger.DebugContext(ctx, "request rejected", "method", r.Method, "path", r.URL.Path,
			"status", p.Status, "code", p.Code, "err", redact.Text(err.Error()))
	}
	h := w.Header()
	// Headers set for a success that was about to be written do not
	// describe an error.
	h.Del("ETag")
	h.Del("Docker-Content-Digest")
	h.Del(platformHeader)
	h.Del("Content-Length")
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", auth.Challenge)
	}
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfter))
	}
	if bodyUnread(r) && r.ProtoMajor == 1 {
		// Draining a body that may be stalled could hold the connection
		// for ever; the client must not send its next request on it.
		h.Set("Connection", "close")
		stopReading(w)
	}
	setCacheStatus(w, r)
	encode(w, r, p.Status, p)
}

// classify maps err onto the catalog. The second result is the Retry-After
// to send, in seconds, or zero.
func classify(err error) (problem, int) {
	code, detail, retryAfter := classifyCode(err)
	p := problem{
		Type:   problemTypePrefix + code.Code,
		Title:  code.Title,
		Status: code.Status,
		Detail: detail,
		Code:   code.Code,
	}
	var pnf *registry.PlatformNotFoundError
	if errors.As(err, &pnf) {
		p.Platforms = make([]string, len(pnf.Available))
		for i, a := range pnf.Available {
			p.Platforms[i] = platformString(a)
		}
	}
	return p, retryAfter
}

func classifyCode(err error) (*problemCode, string, int) {
	var (
		ae   *apiError
		rle  *registry.RateLimitError
		pnf  *registry.PlatformNotFoundError
		terr *transport.Error
		nerr net.Error
		mbe  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		return ae.code, ae.detail, 0
	case errors.Is(err, auth.ErrUnauthenticated):
		if reason := auth.Reason(err); reason != "" {
			return codeUnauthorized, reason, 0
		}
		return codeUnauthorized, "authentication required: send Authorization: Bearer <token>", 0
	case errors.Is(err, auth.ErrDenied):
		return codeDenied, "the caller's token does not grant this request", 0
	case errors.Is(err, auth.ErrRateLimited):
		// The limiter has set Retry-After to its window already.
		return codeTooManyRequests, "too many requests from this caller; retry after the number of seconds in Retry-After", 0
	case errors.As(err, &mbe):
		return codeBodyTooLarge, fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit), 0
	case errors.Is(err, transfer.ErrTooLarge):
		return codeBodyTooLarge, "the image tarball is larger than the upload cap, as sent or once decompressed", 0
	case errors.Is(err, extract.ErrNotFound):
		return codeFileUnknown, "the image has no such file: absent, whited out, below a non-directory, a link that leads nowhere, or not a regular file or directory", 0
	case errors.Is(err, extract.ErrTooManyLinks):
		return codeFileUnknown, "the path follows more than 40 links", 0
	case errors.Is(err, extract.ErrTooLarge):
		return codeFileTooLarge, "the file is larger than the server's cap", 0
	case errors.Is(err, extract.ErrLimit):
		return codeLayerUnprocessable, "a layer decompresses past the server's limits (size or ratio)", 0
	case errors.Is(err, extract.ErrNameLimit):
		return codeLayerUnprocessable, "a layer has a name or link target longer than 4096 bytes, or the image more names than the server keeps for one request", 0
	case errors.Is(err, tar.ErrHeader):
		return codeLayerUnprocessable, "a layer is not a tar archive", 0
	case errors.As(err, &rle):
		secs := int(math.Ceil(rle.RetryAfter.Seconds()))
		if secs < 1 {
			// RFC 9110 allows 0, but a client retrying at once only
			// adds to the burst that got us rate-limited.
			secs = 1
		}
		return codeTooManyRequests, "the upstream registry is rate-limiting regapi; retry later", secs
	case errors.Is(err, registry.ErrRateLimited):
		return codeTooManyRequests, "the upstream registry is rate-limiting regapi; retry later", 1
	case errors.As(err, &pnf):
		return codePlatformUnknown, fmt.Sprintf("the index has no manifest for platform %s; see platforms", platformString(pnf.Platform)), 0
	case errors.Is(err, registry.ErrRepositoryNotFound):
		return codeNameUnknown, "repository not found in the upstream registry", 0
	case errors.Is(err, registry.ErrImageNotFound):
		return codeManifestUnknown, "manifest not found in the upstream registry", 0
	case errors.Is(err, registry.ErrAccessDenied):
		return codeUpstreamDenied, "the upstream registry refused regapi's credentials", 0
	case errors.Is(err, registry.ErrInvalidName):
		return codeNameInvalid, "invalid repository name", 0
	case errors.Is(err, registry.ErrInvalidReference):
		return codeReferenceInvalid, "invalid reference", 0
	case errors.Is(err, registry.ErrCatalogNotSupported):
		return codeCatalogUnsupported, "the upstream registry has no usable catalog (/v2/_catalog)", 0
	case errors.Is(err, registry.ErrHostRefused):
		return codeUpstreamInvalid, "the upstream registry sent regapi to a host it may not contact", 0
	case errors.Is(err, registry.ErrUpstreamInvalid):
		return codeUpstreamInvalid, "the upstream registry answered something regapi cannot use", 0
	case errors.Is(err, registry.ErrManifestTooLarge):
		return codeUpstreamUnavailable, "the upstream registry served a manifest larger than regapi accepts", 0
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return codeUpstreamTimeout, "the upstream registry did not answer in time", 0
	case errors.As(err, &terr):
		return classifyStatus(terr.StatusCode)
	case errors.As(err, &nerr) && nerr.Timeout():
		return codeUpstreamTimeout, "the upstream registry did not answer in time", 0
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return codeUpstreamUnavailable, "the upstream registry cannot be reached", 0
	case errors.As(err, &nerr):
		return codeUpstreamUnavailable, "the upstream registry cannot be reached", 0
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	if errors.As(err, &dnsErr) || errors.As(err, &opErr) {
		return codeUpstreamUnavailable, "the upstream registry cannot be reached", 0
	}
	if errors.Is(err, errLayerRead) {
		// Bytes the upstream served that do not decompress or verify, or
		// a blob cut short: the upstream's fault, and nothing cached.
		return codeUpstreamInvalid, "a layer of the image could not be read from the upstream registry: cut short, not a valid archive, or not matching its digest", 0
	}
	return codeInternal, "internal error", 0
}

// classifyStatus maps an upstream status the client left without a
// sentinel.
func classifyStatus(status int) (*problemCode, string, int) {
	switch {
	case status == http.StatusTooManyRequests:
		return codeTooManyRequests, "the upstream registry is rate-limiting regapi; retry later", 1
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return codeUpstreamDenied, "the upstream registry refused regapi's credentials", 0
	case status == http.StatusNotFound:
		return codeManifestUnknown, "not found in the upstream registry", 0
	case status == http.StatusGatewayTimeout || status == http.StatusRequestTimeout:
		return codeUpstreamTimeout, fmt.Sprintf("the upstream registry answered %d", status), 0
	case status >= 500:
		return codeUpstreamUnavailable, fmt.Sprintf("the upstream registry answered %d", status), 0
	}
	return codeUpstreamUnavailable, fmt.Sprintf("the upstream registry answered an unexpected %d", status), 0
}
