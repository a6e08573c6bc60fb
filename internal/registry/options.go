package registry

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Options configures a client made by NewClientWithOptions. The zero value
// (or nil) is an anonymous HTTPS client with the defaults documented below.
type Options struct {
	// Auth authenticates to the registry. Nil means anonymous, unless
	// Keychain is set.
	Auth authn.Authenticator
	// Keychain resolves credentials per registry (docker config.json,
	// Kubernetes pull secrets). Used only when Auth is nil.
	Keychain authn.Keychain
	// Insecure allows plain HTTP (HTTPS is still tried first). Without it
	// every plain-HTTP request is refused, loopback and private addresses
	// included, so credentials never travel in clear by accident.
	Insecure bool
	// TLSSkipVerify turns off certificate verification.
	TLSSkipVerify bool
	// CA is a PEM bundle added to the system roots.
	CA []byte
	// Transport is the base round tripper. The default is a clone of
	// http.DefaultTransport with ResponseHeaderTimeout set.
	Transport http.RoundTripper
	// WrapTransport, when set, wraps the base transport (Transport or the
	// default one) beneath the client's retry, redirect and auth layers, so
	// it sees every attempt as sent on the wire: the place for metrics.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// UserAgent is sent with every request. The default is "regapi".
	UserAgent string
	// Timeout bounds each operation that does not stream a body (manifests,
	// digests, listings, configs). GetImage, pushes and copies are bounded
	// only by the caller's context, since their blobs stream. Zero means no
	// bound beyond the caller's context.
	Timeout time.Duration
	// ResponseHeaderTimeout bounds the wait for a response's headers when
	// Transport is nil. The default value is 30 seconds.
	ResponseHeaderTimeout time.Duration
	// MaxRetries is how many times a transient failure (5xx, connection
	// reset, 429) is retried. The default value is 3; negative disables.
	MaxRetries int
	// MaxRetryAfter caps how long a 429's Retry-After is honoured before the
	// error is returned to the caller instead. The default value is 10 seconds.
	MaxRetryAfter time.Duration
	// MaxManifestBytes caps a manifest's size. The default value is 4 MiB.
	MaxManifestBytes int64
	// RedirectHosts lists the hosts (host, host:port or "*.domain" for any
	// subdomain) that requests may go
	// to besides the registry itself: blob storage that redirects point to,
	// and a token service (bearer realm) on another host, e.g.
	// "auth.docker.io" and "production.cloudflare.docker.com" for Docker Hub.
	// Any other host is refused. The registry's credentials never follow a
	// redirect to another host.
	RedirectHosts []string
	// Logger receives debug lines per operation. Nil discards.
	Logger *slog.Logger
}

// ImageGetOption adjusts a read of an image or manifest.
type ImageGetOption interface {
	applyImageGet(*imageGetOptions)
}

// ImagePushOption adjusts a push.
type ImagePushOption interface {
	applyImagePush(*imagePushOptions)
}

// ListTagsOption adjusts ListTags and ListTagsPage.
type ListTagsOption interface {
	applyListTags(*listOptions)
}

// ListRepositoriesOption adjusts ListRepositories and ListRepositoriesPage.
type ListRepositoriesOption interface {
	applyListRepositories(*listOptions)
}

type imageGetOptions struct {
	platform *v1.Platform
	manifest ManifestResult
}

type imagePushOptions struct{}

type listOptions struct {
	limit int
	last  string
}

// WithPlatform selects the platform to use when a reference is an index.
// A nil Platform means the default, linux/amd64.
type WithPlatform struct {
	Platform *v1.Platform
}

func (w WithPlatform) applyImageGet(o *imageGetOptions) { o.platform = w.Platform }

// WithManifest hands GetConfigBlob the manifest at the reference when the
// caller holds it already (a cache does), so that the client fetches only
// the config blob it names instead of the manifest again. It applies when
// the reference is that manifest's digest and the manifest is an image
// manifest; otherwise it is ignored.
type WithManifest struct {
	Manifest ManifestResult
}

func (w WithManifest) applyImageGet(o *imageGetOptions) { o.manifest = w.Manifest }

type tagsLimit int

func (n tagsLimit) applyListTags(o *listOptions) { o.limit = int(n) }

// WithTagsLimit asks for one page of at most n tags. Values above what
// registries accept are clamped (see maxPageSize). The default is every tag.
func WithTagsLimit(n int) ListTagsOption { return tagsLimit(n) }

type tagsLast string

func (s tagsLast) applyListTags(o *listOptions) { o.last = string(s) }

// WithTagsLast starts the listing after tag last. The default is the start.
func WithTagsLast(last string) ListTagsOption { return tagsLast(last) }

type reposLimit int

func (n reposLimit) applyListRepositories(o *listOptions) { o.limit = int(n) }

// WithReposLimit asks for one page of at most n repositories. The default is
// every repository below the client's path.
func WithReposLimit(n int) ListRepositoriesOption { return reposLimit(n) }

type reposLast string

func (s reposLast) applyListRepositories(o *listOptions) { o.last = string(s) }

// WithReposLast starts the listing after repository last (a full name).
// The default is the start.
func WithReposLast(last string) ListRepositoriesOption { return reposLast(last) }
