package main

import (
	"flag"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/config"
)

func TestParseOptionsPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "regapi.yaml")
	err := os.WriteFile(cfg, []byte(`
listen: 127.0.0.1:7000
default_platform: linux/arm64
log_level: warn
log_format: text
shutdown_grace: 40s
allow_anonymous: true
tokens:
- {name: ci, secret_env: CI_TOKEN, scopes: [{registry: file, repositories: ["team/**"], actions: [push]}]}
upstreams:
- {name: file, url: https://file.example, username: u, password_env: FILE_PASS}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want options
	}{{
		name: "defaults",
		args: []string{"--demo"},
		// --demo without tokens lets anonymous callers pull.
		want: options{listen: ":8080", demo: true, defaultPlatform: v1.Platform{OS: "linux", Architecture: "amd64"},
			logLevel: slog.LevelInfo, logFormat: "json", logFlush: time.Second, shutdownGrace: 20 * time.Second,
			allowAnonymous: true, demoAnonymous: true,
			// The demo's anonymous pulls are the demo's only.
			auth: auth.Config{AnonymousScopes: []auth.Scope{{Registry: "demo", Repositories: []string{"**"}, Actions: []auth.Action{auth.ActionPull}}}}},
	}, {
		name: "variables",
		env: map[string]string{
			"REGAPI_LISTEN": "127.0.0.1:9000", "REGAPI_UPSTREAM": "a=https://a.example, b=http://b.example:5000",
			"REGAPI_DEFAULT_PLATFORM": "linux/arm/v7", "REGAPI_LOG_LEVEL": "debug", "REGAPI_ALLOW_ANONYMOUS": "true",
			"REGAPI_SHUTDOWN_GRACE": "5s", "REGAPI_SHUTDOWN_DELAY": "1s", "REGAPI_LOG_FLUSH_INTERVAL": "0",
		},
		want: options{listen: "127.0.0.1:9000", allowAnonymous: true,
			upstreams: []config.Upstream{
				{Name: "a", Endpoint: config.Endpoint{Host: "a.example"}},
				{Name: "b", Endpoint: config.Endpoint{Host: "b.example:5000", Insecure: true}},
			},
			defaultPlatform: v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"},
			logLevel:        slog.LevelDebug, logFormat: "json", shutdownGrace: 5 * time.Second, shutdownDelay: time.Second},
	}, {
		name: "flags win over variables",
		args: []string{"--listen", ":1", "--upstream", "f=https://f.example", "--log-level", "error"},
		env:  map[string]string{"REGAPI_LISTEN": ":2", "REGAPI_UPSTREAM": "e=https://e.example", "REGAPI_LOG_LEVEL": "debug"},
		want: options{listen: ":1", upstreams: []config.Upstream{{Name: "f", Endpoint: config.Endpoint{Host: "f.example"}}},
			defaultPlatform: v1.Platform{OS: "linux", Architecture: "amd64"}, logLevel: slog.LevelError, logFormat: "json",
			logFlush: time.Second, shutdownGrace: 20 * time.Second},
	}, {
		name: "file under flags and variables",
		args: []string{"--config", cfg, "--log-level", "info", "--upstream", "f=https://f.example", "--allow-anonymous=false"},
		env:  map[string]string{"REGAPI_SHUTDOWN_GRACE": "7s", "FILE_PASS": "pw"},
		want: options{listen: "127.0.0.1:7000",
			upstreams: []config.Upstream{
				{Name: "file", Endpoint: config.Endpoint{Host: "file.example"}, Username: "u", Password: "pw"},
				{Name: "f", Endpoint: config.Endpoint{Host: "f.example"}},
			},
			defaultPlatform: v1.Platform{OS: "linux", Architecture: "arm64"}, logLevel: slog.LevelInfo, logFormat: "text",
			logFlush: time.Second, shutdownGrace: 7 * time.Second,
			auth: auth.Config{Tokens: []auth.Token{{Name: "ci", SecretEnv: "CI_TOKEN",
				Scopes: []auth.Scope{{Registry: "file", Repositories: []string{"team/**"}, Actions: []auth.Action{auth.ActionPush}}}}}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOptions(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatalf("parseOptions() error = %v", err)
			}
			d := defaultSettings(t)
			tt.want.timeouts = d.Timeouts
			tt.want.maxConns = defaultMaxConnections()
			tt.want.cache = d.Cache
			tt.want.reads = d.Reads
			tt.want.rateWindow = time.Minute
			tt.want.ui = true // TestParseOptionsUI covers turning it off
			if tt.want.uploads == (config.Uploads{}) {
				tt.want.uploads = d.Uploads
				tt.want.uploads.SpoolDir = os.TempDir()
				tt.want.spoolDefault = true
			}
			if tt.want.sync == (config.Sync{}) {
				tt.want.sync = d.Sync
			}
			if tt.want.allowAnonymous {
				tt.want.auth.AllowAnonymous = true
			}
			if diff := cmp.Diff(tt.want, *got, cmp.AllowUnexported(options{}), sameTrusted); diff != "" {
				t.Errorf("parseOptions() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// defaultSettings is every setting at its default.
func defaultSettings(t *testing.T) *config.Config {
	t.Helper()
	c := &config.Config{}
	given := config.Settings.Register(flag.NewFlagSet("defaults", flag.ContinueOnError))
	if err := config.Settings.Apply(c, given, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	return c
}

// sameTrusted compares trusted proxies by the ranges they hold.
var sameTrusted = cmp.Comparer(func(a, b auth.TrustedProxies) bool { return a.String() == b.String() })

// TestParseOptionsTrustedProxies: the list comes from the flag (repeatable,
// comma-separated), the variable (comma-separated) or the file, in that
// order; the flag or variable replaces the file's list, and given empty
// trusts no one.
func TestParseOptionsTrustedProxies(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "regapi.yaml")
	if err := os.WriteFile(cfg, []byte("trusted_proxies: [10.0.0.0/8, \"fd00::/8\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"default: none", nil, "", ""},
		{"file", []string{"--config", cfg}, "", "10.0.0.0/8,fd00::/8"},
		{"variable over file", []string{"--config", cfg}, "127.0.0.1, ::1,", "127.0.0.1/32,::1/128"},
		{"flag over variable", []string{"--trusted-proxies", "192.168.0.0/16"}, "127.0.0.1", "192.168.0.0/16"},
		{"flag repeated and comma-separated", []string{"--trusted-proxies", "127.0.0.1,10.1.0.0/16", "--trusted-proxies=::1"}, "", "127.0.0.1/32,10.1.0.0/16,::1/128"},
		{"empty flag over file: none", []string{"--config", cfg, "--trusted-proxies="}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"REGAPI_TRUSTED_PROXIES": tc.env}
			o, err := parseOptions(append([]string{"--demo"}, tc.args...), func(k string) string { return env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.trustedProxies.String(); got != tc.want {
				t.Errorf("trusted proxies = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseOptionsErrors(t *testing.T) {
	badTokens := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(badTokens, []byte("tokens: [{name: ci, secret_env: X, scope: [{registry: a, repositories: [x], actions: [pull]}]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badProxies := filepath.Join(t.TempDir(), "proxies.yaml")
	if err := os.WriteFile(badProxies, []byte("trusted_proxies: [\"10.0.0.1:80\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	typoScope := filepath.Join(t.TempDir(), "scope.yaml")
	if err := os.WriteFile(typoScope, []byte("tokens: [{name: ci, secret_env: X, scopes: [{registry: dmeo, repositories: [x], actions: [pull]}]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"no upstreams", nil, nil, "no upstreams: give --upstream NAME=URL, --config FILE or --demo"},
		{"bare port", []string{"--demo", "--listen", "8081"}, nil, `--listen: address "8081" has no host part: write ":8081"`},
		{"scope of an unknown upstream", []string{"--demo", "--config", typoScope}, nil, `token "ci": scope registry "dmeo" matches no configured upstream (have demo)`},
		{"upstream without name", []string{"--upstream", "https://r.example"}, nil, "want NAME=URL"},
		{"upstream with credentials", []string{"--upstream", "a=https://u:hunter2@r.example"}, nil, "must not carry credentials"},
		{"variable upstream with credentials", nil, map[string]string{"REGAPI_UPSTREAM": "a=https://u:hunter2@r.example"}, "must not carry credentials"},
		{"upstream with path", []string{"--upstream", "a=https://r.example/v2/org"}, nil, `has path "/v2/org"`},
		{"plain host", []string{"--upstream", "a=r.example"}, nil, "want http://host[:port] or https://host[:port]"},
		{"twice", []string{"--upstream", "a=https://r.example", "--upstream", "a=https://s.example"}, nil, `upstream "a" is configured twice`},
		{"demo taken", []string{"--demo", "--upstream", "demo=https://r.example"}, nil, `upstream "demo" is configured twice`},
		{"bad platform", []string{"--demo", "--default-platform", "amd64"}, nil, `platform "amd64"`},
		{"bad level", []string{"--demo", "--log-level", "loud"}, nil, `--log-level: "loud": want debug, info, warn or error`},
		{"bad format", []string{"--demo", "--log-format", "xml"}, nil, `--log-format: "xml": want json or text`},
		{"bad variable", []string{"--demo"}, map[string]string{"REGAPI_SHUTDOWN_GRACE": "soon"}, `REGAPI_SHUTDOWN_GRACE: invalid duration "soon"`},
		{"zero grace", []string{"--demo", "--shutdown-grace", "0s"}, nil, "--shutdown-grace: must be positive"},
		{"negative log flush", []string{"--demo", "--log-flush-interval", "-1s"}, nil, "--log-flush-interval: must not be negative"},
		{"stray argument", []string{"--demo", "serve"}, nil, `unexpected argument "serve"`},
		{"tls cert without key", []string{"--demo", "--tls-cert", "a.crt"}, nil, "tls_cert and tls_key go together"},
		{"entry larger than the cache", []string{"--demo", "--cache-max-bytes", "1MiB", "--cache-max-entry-bytes", "2MiB"}, nil, "cache.max_entry_bytes (--cache-max-entry-bytes) 2MiB is more than cache.max_bytes (--cache-max-bytes) 1MiB"},
		{"bad number flag", []string{"--demo", "--rate-limit", "many"}, nil, `invalid value "many" for flag -rate-limit: want a whole number (regapi --help`},
		{"variable upstream with a password holding a comma", nil, map[string]string{"REGAPI_UPSTREAM": "a=https://u:hun,ter2@r.example"}, "REGAPI_UPSTREAM: a URL must not carry credentials"},
		{"unknown flag", []string{"--listn", ":1"}, nil, "flag provided but not defined: -listn (regapi --help lists every flag)"},
		{"misspelt token field", []string{"--demo", "--config", badTokens}, nil, `unknown field "scope"`},
		{"bad trusted proxy", []string{"--demo", "--trusted-proxies", "10.0.0.0/8,ingress-nginx"}, nil, `--trusted-proxies: trusted proxy 2 ("ingress-nginx"): not an address`},
		{"bad trusted proxy variable", []string{"--demo"}, map[string]string{"REGAPI_TRUSTED_PROXIES": "10.0.0.0/64"}, `REGAPI_TRUSTED_PROXIES: trusted proxy 1 ("10.0.0.0/64"): not a CIDR`},
		{"bad trusted proxy in file", []string{"--demo", "--config", badProxies}, nil, `trusted_proxies: trusted proxy 1 ("10.0.0.1:80"): not an address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			_, err := parseOptions(tt.args, func(k string) string { return tt.env[k] }, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseOptions(%q) error = %v, want one containing %q", tt.args, err, tt.wantErr)
			}
			if strings.Contains(err.Error()+stderr.String(), "hunter2") {
				t.Errorf("parseOptions(%q) printed the password: %v %s", tt.args, err, stderr.String())
			}
			if stderr.Len() > 0 {
				// The error is the whole message: no usage dump.
				t.Errorf("parseOptions(%q) printed %q besides its error", tt.args, stderr.String())
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "http://127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "http://localhost:8080"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "http://localhost:8080"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, "http://[::1]:8080"},
	}
	for _, tt := range tests {
		if got := baseURL(tt.addr); got != tt.want {
			t.Errorf("baseURL(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// TestParseOptionsAcrossLayers: a setting from one layer and its partner
// from another go together, a flag replaces the file's source of a
// credential, relative names in the file are the file's, and levels are
// read in any case.
func TestParseOptionsAcrossLayers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pass := write("redis-pass", "from-file\n")
	file := write("regapi.yaml", `pprof: true
tls_cert: tls/regapi.crt
reads: {layer_cache_dir: layers}
uploads: {spool_dir: spool}
cache: {shared: {url: "redis://r:6379", username_env: REDIS_USER, password_env: REDIS_PASS}}
`)
	env := map[string]string{"REDIS_USER": "file-user", "REDIS_PASS": "from-env", "REGAPI_LOG_LEVEL": "DEBUG"}
	o, err := parseOptions([]string{"--demo", "--config", file, "--metrics-listen", "127.0.0.1:0", "--tls-key", "/etc/key.pem",
		"--cache-shared-username", "flag-user", "--cache-shared-password-file", pass}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("parseOptions() error = %v", err)
	}
	if !o.pprof || o.metricsListen != "127.0.0.1:0" {
		t.Errorf("pprof %v on %q, want on with the flag's address", o.pprof, o.metricsListen)
	}
	if o.tlsCert != filepath.Join(dir, "tls/regapi.crt") || o.tlsKey != "/etc/key.pem" {
		t.Errorf("tls = %q %q, want the file's certificate (relative to it) and the flag's key", o.tlsCert, o.tlsKey)
	}
	if o.reads.LayerCacheDir != filepath.Join(dir, "layers") || o.uploads.SpoolDir != filepath.Join(dir, "spool") {
		t.Errorf("directories = %q %q, want both relative to the file", o.reads.LayerCacheDir, o.uploads.SpoolDir)
	}
	if s := o.cache.Shared; s.ResolvedUsername != "flag-user" || s.ResolvedPassword.Reveal() != "from-file" {
		t.Errorf("shared credentials = %q and a password from %q, want the flags' (they replace the file's sources)", s.ResolvedUsername, s.ResolvedPassword.Reveal())
	}
	if o.logLevel != slog.LevelDebug {
		t.Errorf("log level = %s, want DEBUG read as debug", o.logLevel)
	}
}
