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
	// Insecure says the registry speaks plain HTTP (an http:// upstream):
	// its origin is http://host[:port], and HTTPS to it is not attempted.
	// Without it every plain-HTTP request is refused, loopback and private
	// addresses included, so credentials never travel in clear by accident.
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
	// MaxManifestBytes caps a manifest's size, and a config blob's (a
	// config declared larger is refused unread). The default value is 4 MiB.
	MaxManifestBytes int64
	// RedirectHosts lists the hosts (host for any port, host:port, or
	// "*.domain" for any subdomain) that requests may go
	// to besides the registry itself: blob storage that redirects point to,
	// and a token service (bearer realm) on another host, e.g.
	// "auth.docker.io" and "production.cloudflare.docker.com" for Docker Hub.
	// Any other origin is refused, the registry's own host on another port
	// or scheme included (ports default by scheme only: :443 over http is
	// not :80). The registry's credentials never follow a redirect to
	// another origin.
	RedirectHosts []string
	// Logger receives debug lines per operation. Nil discards.
	Logger *slog.Logger
}

// ImageGetOption adjusts a read of an image, manifest, digest or config, and
// CopyImage: WithPlatform, WithManifest.
type ImageGetOption interface {
	applyImageGet(*imageGetOptions)
}

// ImagePushOption adjusts a push. No push option exists yet: the parameter
// keeps the seed's signature of PushImage and PushIndex. One would be a
// named type here with an applyImagePush method that sets a field of
// imagePushOptions, read by push.
type ImagePushOption interface {
	applyImagePush(*imagePushOptions)
}

// ListTagsOption adjusts ListTags and ListTagsPage: WithTagsLimit,
// WithTagsLast.
type ListTagsOption interface {
	applyListTags(*listOptions)
}

// ListRepositoriesOption adjusts ListRepositories and ListRepositoriesPage:
// WithReposLimit, WithReposLast.
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

// optionsOf applies opts in order with apply, a method expression such as
// ListTagsOption.applyListTags, so a later option of the same type wins.
func optionsOf[O, T any](opts []O, apply func(O, *T)) T {
	var o T
	for _, opt := range opts {
		apply(opt, &o)
	}
	return o
}

// WithPlatform selects the platform to use when a reference is an index:
// WithPlatform{Platform: p}. Without it, or with a nil Platform, GetImage,
// GetImageConfig and GetConfigBlob pick DefaultPlatform (linux/amd64), and
// GetManifest, GetDigest and CopyImage take the index itself.
type WithPlatform struct {
	Platform *v1.Platform
}

func (w WithPlatform) applyImageGet(o *imageGetOptions) { o.platform = w.Platform }

// WithManifest hands GetConfigBlob the manifest at the reference when the
// caller holds it already (a cache does), so that the client fetches only
// the config blob it names instead of the manifest again. It applies when
// the reference is that manifest's digest and the manifest is an image
// manifest; otherwise it is ignored. The default is to fetch the manifest.
type WithManifest struct {
	Manifest ManifestResult
}

func (w WithManifest) applyImageGet(o *imageGetOptions) { o.manifest = w.Manifest }

// WithTagsLimit asks for one page of at most that many tags:
// WithTagsLimit(50). Values above what registries accept are clamped to
// maxPageSize (1000), as are zero and less in ListTagsPage. The default is
// every tag from ListTags and a page of 1000 from ListTagsPage.
type WithTagsLimit int

func (n WithTagsLimit) applyListTags(o *listOptions) { o.limit = int(n) }

// WithTagsLast starts the listing after that tag: WithTagsLast("v1.2.0").
// The default is the start.
type WithTagsLast string

func (s WithTagsLast) applyListTags(o *listOptions) { o.last = string(s) }

// WithReposLimit asks for one page of at most that many repositories:
// WithReposLimit(100). Values are clamped as WithTagsLimit's are. The
// default is every repository below the client's path from
// ListRepositories and a page of 1000 from ListRepositoriesPage.
type WithReposLimit int

func (n WithReposLimit) applyListRepositories(o *listOptions) { o.limit = int(n) }

// WithReposLast starts the listing after that repository (a full name):
// WithReposLast("org/app"). The default is the start.
type WithReposLast string

func (s WithReposLast) applyListRepositories(o *listOptions) { o.last = string(s) }
