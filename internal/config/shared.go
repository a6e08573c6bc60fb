package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/regapi/regapi/internal/cache"
)

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
	Prefix string `json:"prefix,omitempty"`
	// Timeout bounds each call to the server.
	Timeout Duration `json:"timeout,omitempty"`
	// Lease is how long one replica fetches a missing key for all; the
	// others wait at most this long.
	Lease Duration `json:"lease,omitempty"`

	// Password exists only so that an inline password is rejected with a
	// useful message.
	Password any `json:"password,omitempty"`

	// ResolvedUsername and ResolvedPassword are read by Load from the
	// fields above.
	ResolvedUsername string `json:"-"`
	ResolvedPassword Secret `json:"-"`
}

// validate refuses an inline password; the URL and prefix are checked by
// their settings.
func (s CacheShared) validate() error {
	if s.Password != nil {
		return fmt.Errorf("inline password is not allowed: use password_file or password_env")
	}
	return nil
}

// anchor makes the file names the configuration file gives relative to its
// directory.
func (s *CacheShared) anchor(files reader) {
	if s.UsernameFile != "" {
		s.UsernameFile = files.path(s.UsernameFile)
	}
	if s.PasswordFile != "" {
		s.PasswordFile = files.path(s.PasswordFile)
	}
}

// ResolveShared reads the shared tier's credentials from where the merged
// settings name them. A password file given by --cache-shared-password-file
// or its variable replaces the file's source of the password, as a flag
// replaces any value of the file.
func (c *Config) ResolveShared(getenv func(string) string) error {
	s := &c.Cache.Shared
	// A flag or variable replaces the file's source of the value, as it
	// replaces any value of the file.
	if c.Source("cache.shared.password_file") > FromFile {
		s.PasswordEnv = ""
	}
	if c.Source("cache.shared.username") > FromFile {
		s.UsernameFile, s.UsernameEnv = "", ""
	}
	r := reader{getenv: getenv}
	user, err := r.one("username", s.Username, s.UsernameFile, s.UsernameEnv)
	if err != nil {
		return c.sourced("cache.shared.username", "cache.shared", err)
	}
	pass, err := r.one("password", "", s.PasswordFile, s.PasswordEnv)
	if err != nil {
		return c.sourced("cache.shared.password_file", "cache.shared", err)
	}
	s.ResolvedUsername, s.ResolvedPassword = user, Secret(pass)
	return nil
}

// CheckSharedPrefix bounds the key prefix, and refuses an empty one: keys
// without it would mix with anything else the server holds.
func CheckSharedPrefix(v any) error {
	switch p := v.(string); {
	case p == "":
		return fmt.Errorf("must not be empty")
	case len(p) > cache.MaxSharedPrefix:
		return fmt.Errorf("longer than %d bytes", cache.MaxSharedPrefix)
	}
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
	// The path is a database number, so the last "@" ends the userinfo,
	// whatever "/", "?" or "#" a password holds before it.
	if at := strings.LastIndex(rest, "@"); at >= 0 && strings.Contains(rest[:at], ":") {
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
