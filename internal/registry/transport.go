package registry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// baseTransport returns Options.Transport, or a clone of
// http.DefaultTransport configured from the TLS and timeout options.
func baseTransport(o *Options) (http.RoundTripper, error) {
	if o.Transport != nil {
		return o.Transport, nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = o.ResponseHeaderTimeout
	// A client talks to one registry (plus perhaps a blob store) on behalf
	// of many concurrent callers; with fewer idle connections than callers,
	// a bench profile shows re-dials at 32 concurrent cold reads (6% of
	// CPU). 64 idle connections per host cost a few KiB each.
	t.MaxIdleConnsPerHost = 64
	t.MaxIdleConns = 256
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.TLSSkipVerify} //nolint:gosec // opt-in
	if len(o.CA) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(o.CA) {
			return nil, errors.New("registry client: Options.CA holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	t.TLSClientConfig = cfg
	return t, nil
}

// guardTransport is the innermost layer above the base transport. It keeps
// every request on the registry's origin (or Options.RedirectHosts),
// refuses plain HTTP unless Options.Insecure and HTTPS to an Insecure
// registry's own origin, never lets an Authorization header follow a
// redirect to another origin, and caps manifest bodies.
//
// It sees the token requests of ggcr's bearer transport too, so a token realm
// on another origin (another host, scheme or port) is refused unless its
// host is in RedirectHosts.
type guardTransport struct {
	inner       http.RoundTripper
	home        origin          // the registry's scheme, host and port
	allowed     map[string]bool // canonical RedirectHosts
	insecure    bool
	maxManifest int64
}

func newGuardTransport(inner http.RoundTripper, host string, o *Options) *guardTransport {
	g := &guardTransport{
		inner:       inner,
		home:        homeOrigin(host, o.Insecure),
		allowed:     map[string]bool{},
		insecure:    o.Insecure,
		maxManifest: o.MaxManifestBytes,
	}
	for _, h := range o.RedirectHosts {
		g.allowed[strings.ToLower(h)] = true
	}
	return g
}

// ErrHostRefused marks requests the client refused to send: to an origin
// that is neither the registry's nor on a host in Options.RedirectHosts (a
// redirect, a token realm, a Link header), or plain HTTP to a TLS registry.
// The registry sent regapi somewhere it may not go; nothing was sent there.
var ErrHostRefused = errors.New("request refused")

// errHostRefused is ErrHostRefused under the name the package's files use.
var errHostRefused = ErrHostRefused

func (g *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.insecure {
		return nil, fmt.Errorf("%w: plain HTTP to %s (set Options.Insecure for an HTTP registry)", errHostRefused, req.URL.Host)
	}
	if g.insecure && req.URL.Scheme == "https" && g.home.is(originOf(req.URL).withScheme("http")) {
		// ggcr pings an insecure registry over HTTPS first; the registry
		// speaks plain HTTP, so the attempt would only fail (and be logged
		// as a failure by the metrics layer below) on every ping. No
		// sentinel: the plain-HTTP attempt's error is the one that tells.
		return nil, fmt.Errorf("no HTTPS to %s: a plain-HTTP registry", req.URL.Host)
	}
	home := g.home.is(originOf(req.URL))
	if !home && !g.allows(req.URL) {
		return nil, fmt.Errorf("%w: %s://%s is neither the registry nor on a host in Options.RedirectHosts", errHostRefused, req.URL.Scheme, req.URL.Host)
	}
	if !home && req.Response != nil && req.Header.Get("Authorization") != "" {
		// A redirect away from the registry: the registry's credentials stay home.
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
	}
	resp, err := g.inner.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/manifests/") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	if resp.ContentLength > g.maxManifest {
		_ = resp.Body.Close() // refused unread: its errors are moot
		return nil, fmt.Errorf("%w: %d bytes, cap %d", ErrManifestTooLarge, resp.ContentLength, g.maxManifest)
	}
	resp.Body = &cappedBody{rc: resp.Body, left: g.maxManifest}
	return resp, nil
}

// allows reports whether u's host is in RedirectHosts: as host (any port),
// as host:port (the effective port, default by scheme), or under a
// "*.domain" entry.
func (g *guardTransport) allows(u *url.URL) bool {
	o := originOf(u)
	if g.allowed[strings.ToLower(u.Host)] || g.allowed[o.host] || g.allowed[net.JoinHostPort(o.host, o.port)] {
		return true
	}
	host := o.host
	for i := strings.IndexByte(host, '.'); i >= 0; i = strings.IndexByte(host, '.') {
		host = host[i+1:]
		if g.allowed["*."+host] {
			return true
		}
	}
	return false
}

// origin is what credentials are bound to: a scheme, a host and a port,
// the port made explicit from the scheme's default (RFC 6454). ":443" over
// http is not ":80", and neither is the same origin as no port over the
// other scheme.
type origin struct {
	scheme, host, port string
}

// originOf returns u's origin.
func originOf(u *url.URL) origin {
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
	if o.port == "" {
		o.port = defaultPort(o.scheme)
	}
	return o
}

// homeOrigin returns the origin of a registry at host (host[:port], as
// ggcr's RegistryStr has it): HTTPS, or plain HTTP when insecure.
func homeOrigin(host string, insecure bool) origin {
	scheme := "https"
	if insecure {
		scheme = "http"
	}
	return originOf(&url.URL{Scheme: scheme, Host: host})
}

// defaultPort is the port a URL of scheme means when it names none.
func defaultPort(scheme string) string {
	switch scheme {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// withScheme returns o under another scheme, keeping its effective port.
func (o origin) withScheme(scheme string) origin {
	o.scheme = scheme
	return o
}

// is reports whether o and p are the same origin. An unknown scheme (no
// default port) never matches.
func (o origin) is(p origin) bool {
	return o.port != "" && o == p
}

// cappedBody fails a read once more than left bytes have come.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
	cap  int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.cap == 0 {
		b.cap = b.left
	}
	if b.left < 0 {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrManifestTooLarge, b.cap)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, fmt.Errorf("%w: more than %d bytes", ErrManifestTooLarge, b.cap)
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
