package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults of the shared cache tier.
const (
	DefaultSharedPrefix  = "regapi:"
	DefaultSharedTimeout = 50 * time.Millisecond
	DefaultSharedLease   = 5 * time.Second
)

// maxSharedPrefix bounds cache.shared.prefix (and the cache's own check).
const maxSharedPrefix = 128

// CacheShared configures the shared cache tier. Its credentials are named,
// never written inline, as an upstream's are.
type CacheShared struct {
	// URL is redis://host:port[/db] or rediss://host:port[/db] (TLS); a
	// user name may be in it, a password never. Empty: no shared tier.
	URL string `json:"url,omitempty"`
	// Username is not secret and may be inline; or read it from a file or
	// variable.
	Username     string `json:"username,omitempty"`
	UsernameFile string `json:"username_file,omitempty"`
	UsernameEnv  string `json:"username_env,omitempty"`
	// PasswordFile or PasswordEnv names where the password is.
	PasswordFile string `json:"password_file,omitempty"`
	PasswordEnv  string `json:"password_env,omitempty"`
	// Prefix starts every key, so that deployments can share a server.
	// Default "regapi:".
	Prefix string `json:"prefix,omitempty"`
	// Timeout bounds each call to the server. Default 50ms.
	Timeout Duration `json:"timeout,omitempty"`
	// Lease is how long one replica fetches a missing key for all; the
	// others wait at most this long. Default 5s.
	Lease Duration `json:"lease,omitempty"`

	// Password exists only so that an inline password is rejected with a
	// useful message.
	Password any `json:"password,omitempty"`

	// ResolvedUsername and ResolvedPassword are read by Load from the
	// fields above.
	ResolvedUsername string `json:"-"`
	ResolvedPassword Secret `json:"-"`
}

func (s CacheShared) validate() error {
	if s.Password != nil {
		return fmt.Errorf("inline password is not allowed: use password_file or password_env")
	}
	if s.URL != "" {
		if err := CheckSharedURL(s.URL); err != nil {
			return err
		}
	}
	if len(s.Prefix) > maxSharedPrefix {
		return fmt.Errorf("prefix is longer than %d bytes", maxSharedPrefix)
	}
	if s.Timeout < 0 || s.Lease < 0 {
		return fmt.Errorf("timeout and lease must not be negative")
	}
	return nil
}

// resolve reads the credentials the spec names.
func (s *CacheShared) resolve(dir string, getenv func(string) string) error {
	r := reader{dir: dir, getenv: getenv}
	user, err := r.one("username", s.Username, s.UsernameFile, s.UsernameEnv)
	if err != nil {
		return err
	}
	pass, err := r.one("password", "", s.PasswordFile, s.PasswordEnv)
	if err != nil {
		return err
	}
	s.ResolvedUsername, s.ResolvedPassword = user, Secret(pass)
	return nil
}

// ResolvePasswordFile reads the password of --cache-shared-password-file.
func (s *CacheShared) ResolvePasswordFile(path string) error {
	pass, err := (reader{}).one("password", "", path, "")
	if err != nil {
		return err
	}
	s.ResolvedPassword = Secret(pass)
	return nil
}

// CheckSharedURL checks a shared tier URL: redis:// or rediss://, a host,
// and no password (errors never repeat the URL's user information).
func CheckSharedURL(raw string) error {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return fmt.Errorf("url %q: want redis://host:port or rediss://host:port", safeText(raw))
	}
	if s := strings.ToLower(scheme); s != "redis" && s != "rediss" {
		return fmt.Errorf("url scheme %q is not supported: use redis:// or rediss:// (TLS)", safeText(scheme))
	}
	if at := strings.LastIndex(authority(rest), "@"); at >= 0 && strings.Contains(authority(rest)[:at], ":") {
		return fmt.Errorf("url must not carry a password: use cache.shared.password_file or password_env, or --cache-shared-password-file")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url %q is malformed", safeText(raw))
	}
	if u.Hostname() == "" {
		return fmt.Errorf("url %q has no host", safeText(raw))
	}
	if p := strings.Trim(u.Path, "/"); p != "" && strings.Trim(p, "0123456789") != "" {
		return fmt.Errorf("url %q: the path is the database number, e.g. /0", safeText(raw))
	}
	return nil
}
