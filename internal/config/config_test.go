package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// testCA returns a freshly made self-signed certificate in PEM.
func testCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// writeFiles creates name → content files in a temporary directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestParseUpstreams(t *testing.T) {
	ca := testCA(t)
	files := map[string]string{
		"pass":    "s3cret-from-file\n",
		"user":    "robot\n",
		"token":   "tok-from-file",
		"empty":   "\n",
		"ca.pem":  ca,
		"bad.pem": "not a certificate",
	}
	env := map[string]string{"REG_PASS": "s3cret-from-env", "REG_TOKEN": "tok-from-env"}
	getenv := func(k string) string { return env[k] }

	tests := []struct {
		name    string
		yaml    string
		want    []Upstream
		wantErr string // substring; "" means success
	}{{
		name: "anonymous https and plain http",
		yaml: "upstreams:\n- {name: hub, url: https://registry-1.docker.io}\n- {name: local, url: 'http://127.0.0.1:5000/'}\n",
		want: []Upstream{
			{Name: "hub", Endpoint: Endpoint{Host: "registry-1.docker.io"}, RedirectHosts: KnownRedirectHosts("registry-1.docker.io")},
			{Name: "local", Endpoint: Endpoint{Host: "127.0.0.1:5000", Insecure: true}},
		},
	}, {
		name: "username inline, password from file",
		yaml: "upstreams:\n- {name: a, url: https://r.example, username: robot, password_file: pass}\n",
		want: []Upstream{{Name: "a", Endpoint: Endpoint{Host: "r.example"}, Username: "robot", Password: "s3cret-from-file"}},
	}, {
		name: "username from file, password from env",
		yaml: "upstreams:\n- {name: a, url: https://r.example, username_file: user, password_env: REG_PASS}\n",
		want: []Upstream{{Name: "a", Endpoint: Endpoint{Host: "r.example"}, Username: "robot", Password: "s3cret-from-env"}},
	}, {
		name: "token from env",
		yaml: "upstreams:\n- {name: a, url: https://r.example, token_env: REG_TOKEN}\n",
		want: []Upstream{{Name: "a", Endpoint: Endpoint{Host: "r.example"}, Token: "tok-from-env"}},
	}, {
		name: "tls options",
		yaml: "upstreams:\n- name: a\n  url: https://r.example:8443\n  tls: {insecure_skip_verify: true, ca_file: ca.pem}\n",
		want: []Upstream{{Name: "a", Endpoint: Endpoint{Host: "r.example:8443"}, TLSSkipVerify: true, CA: []byte(ca)}},
	}, {
		name:    "inline password rejected",
		yaml:    "upstreams:\n- {name: a, url: https://r.example, username: robot, password: hunter2}\n",
		wantErr: "upstreams[0] (a): inline password is not allowed: use password_file or password_env",
	}, {
		name:    "inline token rejected",
		yaml:    "upstreams:\n- {name: a, url: https://r.example, token: hunter2}\n",
		wantErr: "inline token is not allowed",
	}, {
		name:    "unset variable",
		yaml:    "upstreams:\n- {name: a, url: https://r.example, username: u, password_env: NOPE}\n",
		wantErr: "password_env: variable NOPE is not set or empty",
	}, {
		name:    "missing file",
		yaml:    "upstreams:\n- {name: a, url: https://r.example, username: u, password_file: nope}\n",
		wantErr: "password_file: open",
	}, {
		name:    "empty file",
		yaml:    "upstreams:\n- {name: a, url: https://r.example, username: u, password_file: empty}\n",
		wantErr: "password_file empty is empty",
	}, {
		name:    "password twice",
		yaml:    "upstreams:\n- {name: a, url: https://r.example, username: u, password_file: pass, password_env: REG_PASS}\n",
		wantErr: "password is given more than once",
	}, {
		name:    "username without password",
		yaml:    "upstreams:\n- {name: a, url: https://r.example, username: u}\n",
		wantErr: "username is set but no password",
	}, {
		name:    "password without username",
		yaml:    "upstreams:\n- {name: a, url: https://r.example, password_env: REG_PASS}\n",
		wantErr: "password is set but no username",
	}, {
		name:    "token with password",
		yaml:    "upstreams:\n- {name: a, url: https://r.example, username: u, password_env: REG_PASS, token_env: REG_TOKEN}\n",
		wantErr: "token and username/password are exclusive",
	}, {
		name:    "url with path",
		yaml:    "upstreams:\n- {name: a, url: https://r.example/org/repo}\n",
		wantErr: `has path "/org/repo"`,
	}, {
		name:    "url without scheme",
		yaml:    "upstreams:\n- {name: a, url: r.example}\n",
		wantErr: "want http://host[:port] or https://host[:port]",
	}, {
		name:    "url with unknown scheme",
		yaml:    "upstreams:\n- {name: a, url: 'ftp://r.example'}\n",
		wantErr: `url scheme "ftp" is not supported`,
	}, {
		name:    "url with credentials",
		yaml:    "upstreams:\n- {name: a, url: 'https://u:hunter2@r.example'}\n",
		wantErr: "url must not carry credentials",
	}, {
		name:    "missing url",
		yaml:    "upstreams:\n- {name: a}\n",
		wantErr: "upstreams[0] (a): url is missing",
	}, {
		name:    "bad name",
		yaml:    "upstreams:\n- {name: 'Bad/Name', url: https://r.example}\n",
		wantErr: `upstream name "Bad/Name" is invalid`,
	}, {
		name:    "duplicate name",
		yaml:    "upstreams:\n- {name: a, url: https://r.example}\n- {name: a, url: https://s.example}\n",
		wantErr: `upstreams[1]: name "a" is used twice`,
	}, {
		name:    "tls on plain http",
		yaml:    "upstreams:\n- name: a\n  url: http://r.example\n  tls: {insecure_skip_verify: true}\n",
		wantErr: "tls settings apply to https:// upstreams only",
	}, {
		name:    "ca file without certificate",
		yaml:    "upstreams:\n- name: a\n  url: https://r.example\n  tls: {ca_file: bad.pem}\n",
		wantErr: "tls.ca_file bad.pem: no PEM certificate found",
	}, {
		name:    "unknown field",
		yaml:    "upstreams:\n- {name: a, url: https://r.example, pasword_file: pass}\n",
		wantErr: `unknown field "pasword_file"`,
	}}
	dir := writeFiles(t, files)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), dir, getenv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse() error = %v, want one containing %q", err, tt.wantErr)
				}
				for _, secret := range []string{"hunter2", "s3cret", "tok-from"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("Parse() error %q repeats a secret", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, c.Upstreams); diff != "" {
				t.Errorf("Parse() upstreams mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseServerSettings(t *testing.T) {
	yaml := `
listen: 127.0.0.1:9000
default_platform: linux/arm64/v8
allow_anonymous: true
log_level: debug
log_format: text
shutdown_grace: 45s
timeouts: {read_header: 5s, idle: 1m, upstream: 90s}
cache:
  max_bytes: 64MiB
  max_entries: 500
  ttl: {tags: 10s}
  stale_window: 1m
`
	c, err := Parse([]byte(yaml), "", func(string) string { return "" })
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	want := &Config{
		Listen: "127.0.0.1:9000", DefaultPlatform: "linux/arm64/v8", AllowAnonymous: true,
		LogLevel: "debug", LogFormat: "text", ShutdownGrace: Duration(45 * time.Second),
		Timeouts: Timeouts{ReadHeader: Duration(5 * time.Second), Idle: Duration(time.Minute), Upstream: Duration(90 * time.Second)},
		Cache:    Cache{MaxBytes: 64 << 20, MaxEntries: 500, TTL: CacheTTL{Tags: Duration(10 * time.Second)}, StaleWindow: Duration(time.Minute)},
	}
	if diff := cmp.Diff(want, c, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
	}
	if err := Settings.Apply(c, Settings.Register(flag.NewFlagSet("t", flag.ContinueOnError)), func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if got := c.Cache; got.MaxEntries != 500 || got.StaleWindow != Duration(time.Minute) || got.TTL.Manifests != Duration(30*time.Second) {
		t.Errorf("after Apply cache = %+v, want max_entries and stale window kept, manifests TTL 30s", got)
	}
}

func TestParseServerSettingsErrors(t *testing.T) {
	tests := []struct{ yaml, wantErr string }{
		{"shutdown_grace: 20", "want a duration string"},
		{"shutdown_grace: soon", `invalid duration "soon"`},
		{"default_platform: linux", `platform "linux": want os/arch[/variant]`},
		{"cache: {max_bytes: lots}", `invalid size "lots"`},
		{"cache: {max_entries: -1}", "cache.max_entries: must be positive"},
		{"listen: [a, b]", "listen: want a string, not a list"},
		{"timeouts: {upstream: 5 minutes}", `timeouts.upstream: invalid duration "5 minutes": want a form such as "30s"`},
		{"uploads: {max_bytes: 2 gigs}", `uploads.max_bytes: invalid size "2 gigs"`},
		{"reads: {concurrency: many}", "reads.concurrency: want a whole number, not a string"},
		{"upstreams: [{name: a, url: 'https://a.example', tls: {insecure_skip_verify: maybe}}]", "upstreams[0].tls.insecure_skip_verify: want true or false, not a string"},
		{"timeouts: {upstreem: 5s}", `timeouts: unknown field "upstreem"`},
		{`cors_origins: ["https://dash.example.com/"]`, "want scheme://host[:port]"},
		{`cors_origins: ["https://*.*.example.com"]`, "at most one *"},
		{"rate_limit: -1", "must not be negative"},
		{`trusted_proxies: ["10.0.0.0/8", "ingress"]`, `trusted_proxies: trusted proxy 2 ("ingress"): not an address`},
		{`trusted_proxies: ["10.0.0.0/40"]`, "not a CIDR"},
		{`trusted_proxies: 10.0.0.0/8`, "trusted_proxies: want a list, not a string"},
		{`cache: {shared: {prefix: ""}}`, "cache.shared.prefix: must not be empty"},
		{"log_level: loud", `log_level: "loud": want debug, info, warn or error`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.yaml), "", func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Parse(%q) error = %v, want one containing %q", tt.yaml, err, tt.wantErr)
		}
	}
}

// TestParseErrorsKeepSecretsOut: a value that looks like a credential, or
// sits under a key that names one, is not repeated in an error.
func TestParseErrorsKeepSecretsOut(t *testing.T) {
	const secret = "ghp_0123456789abcdefABCDEF0123456789"
	for _, doc := range []string{
		"timeouts: {upstream: " + secret + "}",
		"cache: {max_bytes: " + secret + "}",
		"upstreams: [{name: a, url: 'https://a.example', password: {nested: " + secret + "}}]",
		secret + ": 1",
	} {
		_, err := Parse([]byte(doc), "", func(string) string { return "" })
		if err == nil {
			t.Errorf("Parse(%q) = nil error", doc)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "0123456789abcdef") {
			t.Errorf("Parse(%q) error %q repeats the secret", doc, err)
		}
	}
}

func TestParseSecuritySettings(t *testing.T) {
	yaml := `
cors_origins: ["https://dash.example.com", "https://*.example.org"]
rate_limit: 600
rate_window: 30s
trusted_proxies: [10.0.0.0/8, "fd00::/8", 192.168.1.7]
tls_cert: tls/regapi.crt
tls_key: /etc/regapi/tls.key
`
	c, err := Parse([]byte(yaml), "/conf", func(string) string { return "" })
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	want := &Config{
		CORSOrigins: []string{"https://dash.example.com", "https://*.example.org"},
		RateLimit:   600, RateWindow: Duration(30 * time.Second),
		TrustedProxies: []string{"10.0.0.0/8", "fd00::/8", "192.168.1.7"},
		TLSCert:        "/conf/tls/regapi.crt", TLSKey: "/etc/regapi/tls.key",
	}
	if diff := cmp.Diff(want, c, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadResolvesRelativeToFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"pass":        "pw\n",
		"regapi.yaml": "upstreams:\n- {name: a, url: https://r.example, username: u, password_file: pass}\n",
	})
	c, err := Load(filepath.Join(dir, "regapi.yaml"), func(string) string { return "" })
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if got := c.Upstreams[0].Password.Reveal(); got != "pw" {
		t.Errorf("Load() password = %q, want %q", got, "pw")
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), nil); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load(missing) error = %v, want one naming the file", err)
	}
}

func TestParseUpstreamFlag(t *testing.T) {
	tests := []struct {
		in      string
		want    Upstream
		wantErr string
	}{
		{in: "hub=https://registry-1.docker.io", want: Upstream{Name: "hub", Endpoint: Endpoint{Host: "registry-1.docker.io"}, RedirectHosts: KnownRedirectHosts("registry-1.docker.io")}},
		{in: "local=HTTP://LocalHost:5000", want: Upstream{Name: "local", Endpoint: Endpoint{Host: "localhost:5000", Insecure: true}}},
		{in: "v6=http://[::1]:5000", want: Upstream{Name: "v6", Endpoint: Endpoint{Host: "[::1]:5000", Insecure: true}}},
		{in: "https://registry-1.docker.io", wantErr: "want NAME=URL"},
		{in: "a=https://u:hunter2@r.example", wantErr: "must not carry credentials"},
		{in: "u:hunter2@r.example", wantErr: "must not carry credentials"},
		// NAME= forgotten and a base64 password: the "=" in it must not
		// make its first part a name quoted back.
		{in: "https://bot:hunter2Q=@r.example", wantErr: "must not carry credentials"},
		{in: "bot:hunter2=x@r.example", wantErr: "must not carry credentials"},
		// A base64 password holds "/" and "+", others "?" or "#": none
		// ends the userinfo.
		{in: "a=https://bot:hunter2/g+=@r.example", wantErr: "must not carry credentials"},
		{in: "a=https://bot:hunter2#x@r.example", wantErr: "must not carry credentials"},
		{in: "a=https://bot:hunter2?x@r.example", wantErr: "must not carry credentials"},
		{in: "a=bot:hunter2/x@r.example", wantErr: "must not carry credentials"},
		{in: "a=https://r.example:99999", wantErr: "out of range"},
		{in: "a=https://r.example?x=1", wantErr: "query and fragment are not allowed"},
		{in: "a=https:///path", wantErr: "has no host"},
		{in: "-=https://r.example", wantErr: "is invalid"},
		{in: "=https://r.example", wantErr: "upstream name is empty"},
	}
	for _, tt := range tests {
		got, err := ParseUpstream(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseUpstream(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			} else if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("ParseUpstream(%q) error %q repeats the password", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseUpstream(%q) error = %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseUpstream(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestAuthJSON(t *testing.T) {
	yaml := `
tokens:
  - name: ci
    secret_file: /etc/regapi/tokens/ci
    scopes: [{registry: ghcr, repositories: ["team/**"], actions: [pull, push]}]
anonymous_scopes: [{registry: "*", repositories: ["library/**"], actions: [pull]}]
`
	c, err := Parse([]byte(yaml), "", func(string) string { return "" })
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	want := `{"allow_anonymous":true,` +
		`"tokens":[{"name":"ci","scopes":[{"actions":["pull","push"],"registry":"ghcr","repositories":["team/**"]}],"secret_file":"/etc/regapi/tokens/ci"}],` +
		`"anonymous_scopes":[{"actions":["pull"],"registry":"*","repositories":["library/**"]}]}`
	if got := string(c.AuthJSON(true)); got != want {
		t.Errorf("AuthJSON(true) = %s, want %s", got, want)
	}
	if got, want := string((&Config{}).AuthJSON(false)), `{}`; got != want {
		t.Errorf("AuthJSON(false) of an empty file = %s, want %s", got, want)
	}
}

func TestParseErrorsHideValues(t *testing.T) {
	docs := []string{
		"upstreams:\n- name: a\n  url: https://r.example\n  'Sup3r-Secret!': x\n", // a secret pasted as a key
		"'Sup3r-Secret!'\n",               // a secret as the whole document
		"upstreams: 'Sup3r-Secret!'\n",    // a secret where a list belongs
		"listen: {a: 'Sup3r-Secret!'}\n",  // a secret inside a wrong type
		"upstreams:\n- 'Sup3r-Secret!'\n", // a secret as a list item
	}
	for _, doc := range docs {
		_, err := Parse([]byte(doc), "", func(string) string { return "" })
		if err == nil {
			t.Errorf("Parse(%q) error = nil, want one", doc)
			continue
		}
		if strings.Contains(err.Error(), "Sup3r") {
			t.Errorf("Parse(%q) error = %q, shows the secret", doc, err)
		}
	}
}
