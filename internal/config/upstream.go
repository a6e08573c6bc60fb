package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Endpoint is where an upstream registry is reached.
type Endpoint struct {
	// Host is host[:port], with no scheme and no path.
	Host string
	// Insecure is true for http:// (plain HTTP) and false for https://.
	Insecure bool
}

// Upstream is one registry to serve, with its credentials resolved.
type Upstream struct {
	// Name is the first path segment after /api/v1/repos/.
	Name string
	Endpoint
	// Username and Password are basic credentials; both empty means no
	// basic credentials.
	Username string
	Password Secret
	// Token is a registry bearer token sent as is, instead of basic
	// credentials.
	Token Secret
	// TLSSkipVerify turns off certificate verification (https only).
	TLSSkipVerify bool
	// CA is a PEM bundle trusted in addition to the system roots.
	CA []byte
	// RedirectHosts are the hosts besides Host that the registry may send
	// regapi to (token service, blob storage).
	RedirectHosts []string
}

// knownRedirectHosts are the token and blob hosts of public registries
// whose layout is public knowledge, so that pointing regapi at them works
// without listing them by hand.
var knownRedirectHosts = map[string][]string{
	// Docker Hub's token service and its blob CDN.
	"registry-1.docker.io": {"auth.docker.io", "production.cloudflare.docker.com"},
	"index.docker.io":      {"auth.docker.io", "production.cloudflare.docker.com"},
	// GHCR serves blobs from its package storage.
	"ghcr.io": {"pkg-containers.githubusercontent.com"},
	// Quay redirects blobs to its CDN.
	"quay.io": {"cdn.quay.io", "cdn01.quay.io", "cdn02.quay.io", "cdn03.quay.io"},
}

// KnownRedirectHosts returns the redirect hosts regapi allows by default for
// host: those of a few public registries, nothing for any other.
func KnownRedirectHosts(host string) []string {
	return append([]string(nil), knownRedirectHosts[host]...)
}

// Anonymous reports whether the upstream has no credentials.
func (u Upstream) Anonymous() bool {
	return u.Username == "" && u.Password == "" && u.Token == ""
}

// nameRe is the shape of an upstream name: one URL path segment that needs
// no escaping and cannot be mistaken for the "-" separator.
var nameRe = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// maxNameLen keeps names short enough to type; 64 is generous for a label.
const maxNameLen = 64

// ValidateName checks an upstream name.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("upstream name is empty")
	}
	if len(name) > maxNameLen || !nameRe.MatchString(name) {
		return fmt.Errorf("upstream name %q is invalid: use lowercase letters, digits and . _ - (at most %d characters, starting and ending with a letter or digit)", name, maxNameLen)
	}
	return nil
}

// ParseUpstream reads the NAME=URL notation of --upstream and
// REGAPI_UPSTREAM, e.g. "hub=https://registry-1.docker.io".
//
// The notation never carries credentials: a text holding an "@" is refused
// before it is split, since a password holding "=" (base64) would otherwise
// be quoted in part as a name.
func ParseUpstream(s string) (Upstream, error) {
	if strings.Contains(s, "@") {
		return Upstream{}, fmt.Errorf("upstream URL must not carry credentials: read them from a file or variable with --config (username_file, password_file, password_env)")
	}
	name, raw, ok := strings.Cut(s, "=")
	if !ok {
		return Upstream{}, fmt.Errorf("upstream %q: want NAME=URL, e.g. hub=https://registry-1.docker.io", safeText(s))
	}
	name = strings.TrimSpace(name)
	if err := ValidateName(name); err != nil {
		return Upstream{}, err
	}
	ep, err := ParseURL(strings.TrimSpace(raw))
	if err != nil {
		return Upstream{}, fmt.Errorf("upstream %q: %w", name, err)
	}
	return Upstream{Name: name, Endpoint: ep, RedirectHosts: KnownRedirectHosts(ep.Host)}, nil
}

// ParseURL reads a registry URL: http://host[:port] for plain HTTP or
// https://host[:port] for TLS. A path, query, fragment or credentials in the
// URL are rejected; errors never repeat credentials.
func ParseURL(raw string) (Endpoint, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || raw == "" {
		return Endpoint{}, fmt.Errorf("url %q: want http://host[:port] or https://host[:port]", safeText(raw))
	}
	var ep Endpoint
	switch strings.ToLower(scheme) {
	case "https":
	case "http":
		ep.Insecure = true
	default:
		return Endpoint{}, fmt.Errorf("url scheme %q is not supported: use http:// (plain HTTP) or https:// (TLS)", safeText(scheme))
	}
	// A registry URL is scheme://host[:port]: an "@" anywhere is
	// credentials, whatever "/", "?" or "#" a password holds before it.
	if strings.Contains(rest, "@") {
		return Endpoint{}, fmt.Errorf("url must not carry credentials: read them from a file or variable with --config (username_file, password_file, password_env)")
	}
	u, err := url.Parse(strings.ToLower(scheme) + "://" + rest)
	if err != nil {
		return Endpoint{}, fmt.Errorf("url %q is malformed", safeText(raw))
	}
	if u.Host == "" || u.Hostname() == "" {
		return Endpoint{}, fmt.Errorf("url %q has no host", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return Endpoint{}, fmt.Errorf("url %q: port %q is out of range", raw, p)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return Endpoint{}, fmt.Errorf("url %q: empty port", raw)
	}
	if u.Path != "" && u.Path != "/" {
		return Endpoint{}, fmt.Errorf("url %q has path %q: give the registry host only; repositories are chosen per request", raw, u.Path)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(rest, "?#") {
		return Endpoint{}, fmt.Errorf("url %q: query and fragment are not allowed", raw)
	}
	ep.Host = strings.ToLower(u.Host)
	return ep, nil
}

// safeText drops anything that could be credentials from text quoted back
// in an error: everything before its last "@" (a password may hold "/",
// "?" or "#", so the first of those does not end it).
func safeText(s string) string {
	i := strings.LastIndex(s, "@")
	if i < 0 {
		return s
	}
	if scheme, _, ok := strings.Cut(s[:i], "://"); ok {
		return scheme + "://…@" + s[i+1:]
	}
	return "…@" + s[i+1:]
}
