package config

import (
	"crypto/x509"
	"fmt"
	"path/filepath"
	"strings"
)

// maxSecretBytes bounds a credential or CA file; a CA bundle of a few hundred
// certificates is well below it.
const maxSecretBytes = 1 << 20

// UpstreamSpec is one entry of the file's upstreams list. Credentials are
// named, never written inline: each comes from a file (*_file) or an
// environment variable (*_env).
type UpstreamSpec struct {
	// Name is the first path segment after /api/v1/repos/.
	Name string `json:"name"`
	// URL is http://host[:port] (plain HTTP) or https://host[:port] (TLS).
	URL string `json:"url"`

	// Username is not secret and may be inline; or read it from a file or
	// variable.
	Username     string `json:"username,omitempty"`
	UsernameFile string `json:"username_file,omitempty"`
	UsernameEnv  string `json:"username_env,omitempty"`
	// PasswordFile or PasswordEnv names where the password is.
	PasswordFile string `json:"password_file,omitempty"`
	PasswordEnv  string `json:"password_env,omitempty"`
	// TokenFile or TokenEnv names a registry bearer token, used instead of
	// a username and password.
	TokenFile string `json:"token_file,omitempty"`
	TokenEnv  string `json:"token_env,omitempty"`

	// TLS adjusts certificate checks for https:// upstreams.
	TLS TLSSpec `json:"tls,omitempty"`
	// RedirectHosts lists the other hosts the registry may send regapi to:
	// its token service and its blob storage ("host" on any port,
	// "host:port", "*.example.com" for any subdomain). The registry's own
	// host on another port or scheme is another host. Credentials never
	// follow a redirect to another host.
	RedirectHosts []string `json:"redirect_hosts,omitempty"`

	// Password and Token exist only so that an inline secret is rejected
	// with a useful message instead of "unknown field".
	Password any `json:"password,omitempty"`
	Token    any `json:"token,omitempty"`
}

// TLSSpec adjusts certificate checks.
type TLSSpec struct {
	// InsecureSkipVerify turns certificate verification off.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
	// CAFile is a PEM bundle trusted in addition to the system roots.
	CAFile string `json:"ca_file,omitempty"`
}

func (s UpstreamSpec) label() string {
	if s.Name == "" {
		return ""
	}
	return " (" + s.Name + ")"
}

// resolve validates the spec and reads its credentials and CA bundle.
func (s UpstreamSpec) resolve(dir string, getenv func(string) string) (Upstream, error) {
	if s.Password != nil {
		return Upstream{}, fmt.Errorf("inline password is not allowed: use password_file or password_env")
	}
	if s.Token != nil {
		return Upstream{}, fmt.Errorf("inline token is not allowed: use token_file or token_env")
	}
	if err := ValidateName(s.Name); err != nil {
		return Upstream{}, err
	}
	if s.URL == "" {
		return Upstream{}, fmt.Errorf("url is missing")
	}
	ep, err := ParseURL(s.URL)
	if err != nil {
		return Upstream{}, err
	}
	u := Upstream{Name: s.Name, Endpoint: ep, TLSSkipVerify: s.TLS.InsecureSkipVerify}
	u.RedirectHosts = append(KnownRedirectHosts(ep.Host), s.RedirectHosts...)

	r := reader{dir: dir, getenv: getenv}
	user, err := r.one("username", s.Username, s.UsernameFile, s.UsernameEnv)
	if err != nil {
		return Upstream{}, err
	}
	pass, err := r.one("password", "", s.PasswordFile, s.PasswordEnv)
	if err != nil {
		return Upstream{}, err
	}
	token, err := r.one("token", "", s.TokenFile, s.TokenEnv)
	if err != nil {
		return Upstream{}, err
	}
	switch {
	case token != "" && (user != "" || pass != ""):
		return Upstream{}, fmt.Errorf("token and username/password are exclusive: set one")
	case user != "" && pass == "":
		return Upstream{}, fmt.Errorf("username is set but no password: add password_file or password_env")
	case pass != "" && user == "":
		return Upstream{}, fmt.Errorf("password is set but no username: add username, username_file or username_env")
	}
	u.Username, u.Password, u.Token = user, Secret(pass), Secret(token)

	if ep.Insecure && (s.TLS.InsecureSkipVerify || s.TLS.CAFile != "") {
		return Upstream{}, fmt.Errorf("tls settings apply to https:// upstreams only")
	}
	if s.TLS.CAFile != "" {
		ca, err := readBounded(r.path(s.TLS.CAFile), maxSecretBytes)
		if err != nil {
			return Upstream{}, fmt.Errorf("tls.ca_file: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(ca) {
			return Upstream{}, fmt.Errorf("tls.ca_file %s: no PEM certificate found", s.TLS.CAFile)
		}
		u.CA = ca
	}
	return u, nil
}

// reader reads a value given inline, from a file or from a variable.
type reader struct {
	dir    string
	getenv func(string) string
}

func (r reader) path(p string) string {
	if filepath.IsAbs(p) || r.dir == "" {
		return p
	}
	return filepath.Join(r.dir, p)
}

// one returns the single value set among inline, file and env for field,
// or "" when none is set. Errors name the file or variable, never the value.
func (r reader) one(field, inline, file, env string) (string, error) {
	set := 0
	for _, v := range []string{inline, file, env} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		return "", fmt.Errorf("%s is given more than once: use one of %s", field, sources(field, inline != ""))
	}
	switch {
	case inline != "":
		return inline, nil
	case file != "":
		b, err := readBounded(r.path(file), maxSecretBytes)
		if err != nil {
			return "", fmt.Errorf("%s_file: %w", field, err)
		}
		// Secret files usually end with a newline that is not part of the
		// secret.
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("%s_file %s is empty", field, file)
		}
		return v, nil
	case env != "":
		v := r.getenv(env)
		if v == "" {
			return "", fmt.Errorf("%s_env: variable %s is not set or empty", field, env)
		}
		return v, nil
	}
	return "", nil
}

func sources(field string, inline bool) string {
	s := field + "_file, " + field + "_env"
	if inline {
		s = field + ", " + s
	}
	return s
}
