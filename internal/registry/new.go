package registry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Defaults for the Options fields, in one place.
const (
	defaultUserAgent = "regapi"
	// DefaultResponseHeaderTimeout is Options.ResponseHeaderTimeout's
	// default; the service's settings table refers to it.
	DefaultResponseHeaderTimeout = 30 * time.Second
	defaultMaxRetries            = 3
	defaultMaxRetryAfter         = 10 * time.Second
	defaultMaxManifestBytes      = 4 << 20
)

// shared is the state every client derived from one NewClientWithOptions call
// has in common: the transports, ggcr's Puller and Pusher (which cache the
// /v2/ ping and tokens per repository), and the listing transports.
//
// A request passes, outermost first: ggcr's auth (bearer or basic, per
// repository scope) → retryTransport (backoff, Retry-After) → guardTransport
// (hosts, plain HTTP, manifest cap) → Options.WrapTransport → the base
// transport. Retries sit below auth so that they resend the same token, and
// the guard sees every redirect hop and token request.
type shared struct {
	host   string        // canonical registry host (ggcr's RegistryStr)
	home   origin        // scheme, host and port of the registry
	reg    name.Registry // for pings and catalog scopes
	opts   Options       // with defaults applied
	logger *slog.Logger
	err    error // a configuration error every call returns

	rt      http.RoundTripper // retry → guard → base; what ggcr wraps with auth
	retry   *retryTransport
	remotes *remotes // ggcr's Puller and Pusher

	// Listing goes through our own requests (ggcr's Lister cannot start at
	// "last"); their authenticated transports are cached per scope, and the
	// challenge from one /v2/ ping is shared by all of them.
	mu        sync.Mutex // guards scoped
	scoped    map[string]*scopeEntry
	pingMu    sync.Mutex // guards challenge
	challenge *transport.Challenge
	// noN[0] (tags) and noN[1] (catalog) remember that the registry
	// rejected our n, so later pages use its own page size at once.
	noN [2]atomic.Bool
}

// client is one repository path on a shared registry connection.
type client struct {
	s    *shared
	path string // repository path below the host, "" at the root
	err  error  // ErrInvalidName when path breaks the grammar
}

// NewClientWithOptions returns a client for host ("registry.example.com",
// "127.0.0.1:5000", optionally followed by a path). opts may be nil.
//
// It never fails: a bad host, CA bundle or path is reported by every call of
// the returned client, before any network traffic.
func NewClientWithOptions(host string, opts *Options) Client {
	s := newShared(host, opts)
	_, path := splitHost(host)
	c := &client{s: s, path: path}
	if path != "" {
		c.err = validatePath(path)
	}
	return c
}

func newShared(hostPath string, opts *Options) *shared {
	s := &shared{scoped: map[string]*scopeEntry{}}
	if opts != nil {
		s.opts = *opts
		s.opts.RedirectHosts = append([]string(nil), opts.RedirectHosts...)
		s.opts.CA = append([]byte(nil), opts.CA...)
	}
	applyDefaults(&s.opts)
	s.logger = s.opts.Logger
	if s.logger == nil {
		s.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}

	host, _ := splitHost(hostPath)
	nameOpts := []name.Option{name.StrictValidation}
	if s.opts.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, nameOpts...)
	if host == "" {
		// ggcr would take an empty host for Docker Hub.
		s.err = fmt.Errorf("%w: registry host is empty", ErrInvalidName)
		return s
	}
	if err != nil {
		s.host = host
		s.err = fmt.Errorf("%w: registry host %q: %w", ErrInvalidName, host, err)
		return s
	}
	s.reg, s.host = reg, reg.RegistryStr()
	s.home = homeOrigin(s.host, s.opts.Insecure)

	base, err := baseTransport(&s.opts)
	if err != nil {
		s.err = err
		return s
	}
	if s.opts.WrapTransport != nil {
		base = s.opts.WrapTransport(base)
	}
	s.retry = newRetryTransport(newGuardTransport(base, s.host, &s.opts), &s.opts)
	s.rt = s.retry

	ropts := []remote.Option{
		remote.WithTransport(s.rt),
		remote.WithUserAgent(s.opts.UserAgent),
		// Retries happen in our own transport (it honours Retry-After and
		// stays below the auth layer); ggcr's are switched off.
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	}
	switch {
	case s.opts.Auth != nil:
		ropts = append(ropts, remote.WithAuth(s.opts.Auth))
	case s.opts.Keychain != nil:
		ropts = append(ropts, remote.WithAuthFromKeychain(s.opts.Keychain))
	}
	if s.remotes, err = newRemotes(ropts); err != nil {
		s.err = fmt.Errorf("registry client: %w", err)
	}
	return s
}

func applyDefaults(o *Options) {
	if o.UserAgent == "" {
		o.UserAgent = defaultUserAgent
	}
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = defaultMaxRetries
	}
	if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = defaultMaxRetryAfter
	}
	if o.MaxManifestBytes <= 0 {
		o.MaxManifestBytes = defaultMaxManifestBytes
	}
}

// WithSegment returns a client for this path followed by segments.
func (c *client) WithSegment(segments ...string) Client {
	if len(segments) == 0 {
		return &client{s: c.s, path: c.path, err: c.err}
	}
	path := joinPath(c.path, segments)
	return &client{s: c.s, path: path, err: validatePath(path)}
}

// GetRegistry returns host plus path.
func (c *client) GetRegistry() string {
	if c.path == "" {
		return c.s.host
	}
	return c.s.host + "/" + c.path
}

// repository returns the ggcr repository of c, or the error every call of an
// unusable client returns.
func (c *client) repository() (name.Repository, error) {
	if c.s.err != nil {
		return name.Repository{}, c.s.err
	}
	if c.err != nil {
		return name.Repository{}, c.err
	}
	if c.path == "" {
		return name.Repository{}, fmt.Errorf("%w: no repository path (use WithSegment)", ErrInvalidName)
	}
	return c.s.reg.Repo(c.path), nil
}

// reference resolves ref within c's repository.
func (c *client) reference(ref string) (name.Reference, error) {
	repo, err := c.repository()
	if err != nil {
		return nil, err
	}
	return parseReference(repo, ref)
}

// bounded applies Options.Timeout to an operation that does not stream.
func (c *client) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.s.opts.Timeout > 0 {
		return context.WithTimeout(ctx, c.s.opts.Timeout)
	}
	return context.WithCancel(ctx)
}
