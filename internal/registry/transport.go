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
	// the bench profile showed re-dials at 32 concurrent cold reads (6% of
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
// every request on the registry's host (or Options.RedirectHosts), refuses
// plain HTTP unless Options.Insecure, never lets an Authorization header
// follow a redirect to another host, and caps manifest bodies.
//
// It sees the token requests of ggcr's bearer transport too, so a token realm
// on a foreign host is refused unless that host is in RedirectHosts.
type guardTransport struct {
	inner       http.RoundTripper
	host        string          // canonical host[:port] of the registry
	allowed     map[string]bool // canonical RedirectHosts
	insecure    bool
	maxManifest int64
}

func newGuardTransport(inner http.RoundTripper, host string, o *Options) *guardTransport {
	g := &guardTransport{
		inner:       inner,
		host:        strings.ToLower(host),
		allowed:     map[string]bool{},
		insecure:    o.Insecure,
		maxManifest: o.MaxManifestBytes,
	}
	for _, h := range o.RedirectHosts {
		g.allowed[strings.ToLower(h)] = true
	}
	return g
}

// ErrHostRefused marks requests the client refused to send: to a host that
// is neither the registry nor in Options.RedirectHosts (a redirect, a
// token realm, a Link header), or plain HTTP to a TLS registry. The
// registry sent regapi somewhere it may not go; nothing was sent there.
var ErrHostRefused = errors.New("request refused")

// errHostRefused is ErrHostRefused under the name the package's files use.
var errHostRefused = ErrHostRefused

func (g *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.insecure {
		return nil, fmt.Errorf("%w: plain HTTP to %s (set Options.Insecure for an HTTP registry)", errHostRefused, req.URL.Host)
	}
	home := sameHost(req.URL, g.host)
	if !home && !g.allows(req.URL) {
		return nil, fmt.Errorf("%w: host %s is neither the registry nor in Options.RedirectHosts", errHostRefused, req.URL.Host)
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
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes, cap %d", ErrManifestTooLarge, resp.ContentLength, g.maxManifest)
	}
	resp.Body = &cappedBody{rc: resp.Body, left: g.maxManifest}
	return resp, nil
}

// allows reports whether u's host is in RedirectHosts: as host:port, as
// host, or under a "*.domain" entry.
func (g *guardTransport) allows(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	if g.allowed[strings.ToLower(u.Host)] || g.allowed[host] {
		return true
	}
	for i := strings.IndexByte(host, '.'); i >= 0; i = strings.IndexByte(host, '.') {
		host = host[i+1:]
		if g.allowed["*."+host] {
			return true
		}
	}
	return false
}

// sameHost reports whether u points at host, treating an explicit default
// port as absent.
func sameHost(u *url.URL, host string) bool {
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		h, p = host, ""
	}
	up := u.Port()
	if up == "443" || up == "80" {
		up = ""
	}
	if p == "443" || p == "80" {
		p = ""
	}
	return strings.EqualFold(u.Hostname(), h) && up == p
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
