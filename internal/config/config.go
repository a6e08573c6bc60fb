package config

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/yaml"

	"github.com/regapi/regapi/internal/redact"
)

// maxFileBytes bounds the configuration file; a real one is a few KiB.
const maxFileBytes = 1 << 20

// Config holds every setting. Parse fills it from the configuration file
// and records which keys the file holds; Table.Apply then lays flags and
// variables over it and fills the rest with the defaults (Settings lists
// every setting with its key, flag, variable and default).
type Config struct {
	// Listen is the address to serve on, e.g. ":8080".
	Listen string `json:"listen,omitempty"`
	// DefaultPlatform (os/arch[/variant]) answers config, extract and digest
	// requests that meet an index without ?platform=.
	DefaultPlatform string `json:"default_platform,omitempty"`
	// AllowAnonymous lets callers without credentials in.
	AllowAnonymous bool `json:"allow_anonymous,omitempty"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level,omitempty"`
	// LogFormat is json or text.
	LogFormat string `json:"log_format,omitempty"`
	// LogFlushInterval holds log lines up to this long and writes them in
	// one call; zero writes every line as it comes.
	LogFlushInterval Duration `json:"log_flush_interval,omitempty"`
	// Demo serves an in-memory registry with sample content as upstream
	// "demo".
	Demo bool `json:"demo,omitempty"`
	// Pprof serves net/http/pprof on the MetricsListen address.
	Pprof bool `json:"pprof,omitempty"`
	// MetricsListen serves /metrics on a separate address (host:port)
	// instead of the API's.
	MetricsListen string `json:"metrics_listen,omitempty"`
	// ShutdownGrace bounds how long in-flight requests may run after a
	// shutdown signal.
	ShutdownGrace Duration `json:"shutdown_grace,omitempty"`
	// ShutdownDelay keeps serving with /readyz failing for this long after a
	// signal, so that load balancers stop sending traffic first.
	ShutdownDelay Duration `json:"shutdown_delay,omitempty"`
	// Timeouts are the server's and the upstream clients' time limits.
	Timeouts Timeouts `json:"timeouts,omitempty"`
	// UpstreamSpecs are the upstreams as written in the file.
	UpstreamSpecs []UpstreamSpec `json:"upstreams,omitempty"`
	// Cache configures the answer cache in front of the upstreams.
	Cache Cache `json:"cache,omitempty"`
	// Uploads and Sync configure the write routes.
	Uploads Uploads `json:"uploads,omitempty"`
	Sync    Sync    `json:"sync,omitempty"`
	// Reads configures extract and files (concurrency, idle timeout, file
	// size cap).
	Reads Reads `json:"reads,omitempty"`

	// Tokens and AnonymousScopes are the access-control settings (caller
	// tokens and what anonymous callers may pull). They are kept as JSON
	// here and read by internal/auth, which owns their shape; see AuthJSON.
	Tokens          json.RawMessage `json:"tokens,omitempty"`
	AnonymousScopes json.RawMessage `json:"anonymous_scopes,omitempty"`
	// CORSOrigins are the browser origins (scheme://host[:port], one "*"
	// allowed in the host) that may call the API; none by default.
	CORSOrigins []string `json:"cors_origins,omitempty"`
	// RateLimit is how many requests one caller may make per RateWindow;
	// zero means no limit.
	RateLimit int `json:"rate_limit,omitempty"`
	// RateWindow is the rate limit's window. Default 1m.
	RateWindow Duration `json:"rate_window,omitempty"`
	// TrustedProxies are the reverse proxies (CIDRs or addresses) whose
	// X-Forwarded-For header names the client; none by default: the TCP
	// peer is the client.
	TrustedProxies []string `json:"trusted_proxies,omitempty"`
	// CursorKeyFile names a file of at least handlers.MinCursorKeyBytes
	// of secret that seals the repository listings' opaque cursors, the
	// same on every replica. Relative names are read relative to the
	// file's directory.
	CursorKeyFile string `json:"cursor_key_file,omitempty"`
	// MaxConnections caps the client connections served at once; more
	// wait to be accepted. Default: three quarters of the process's
	// file-descriptor limit.
	MaxConnections int `json:"max_connections,omitempty"`
	// TLSCert and TLSKey are PEM files: with both set regapi serves HTTPS.
	// Relative names are read relative to the file's directory.
	TLSCert string `json:"tls_cert,omitempty"`
	TLSKey  string `json:"tls_key,omitempty"`
	// UI serves the browser UI at /ui/.
	UI bool `json:"ui,omitempty"`

	// Upstreams are UpstreamSpecs with credentials, CA bundles and URLs
	// resolved; Load fills it.
	Upstreams []Upstream `json:"-"`
	// CursorKey is CursorKeyFile's content; ResolveCursorKey reads it.
	CursorKey Secret `json:"-"`

	// present holds the key paths the file wrote; sources says which
	// layer gave each setting once Apply ran.
	present map[string]bool
	sources map[string]Source
}

// Has says whether the file wrote the key ("reads.max_file_size").
func (c *Config) Has(key string) bool { return c.present[key] }

// Source says which layer gave the setting's value: a flag, a variable, the
// file or the default. It is FromDefault before Apply.
func (c *Config) Source(key string) Source {
	if src, ok := c.sources[key]; ok {
		return src
	}
	if c.Has(key) {
		return FromFile
	}
	return FromDefault
}

// Timeouts are the server's and the upstream clients' time limits.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader Duration `json:"read_header,omitempty"`
	// Idle bounds how long a keep-alive connection waits.
	Idle Duration `json:"idle,omitempty"`
	// Body bounds reading a whole request body (copy and sync requests;
	// uploads have their own rate rules in uploads).
	Body Duration `json:"body,omitempty"`
	// Upstream bounds each upstream operation that does not stream a body
	// (manifests, listings, configs).
	Upstream Duration `json:"upstream,omitempty"`
	// UpstreamResponseHeader bounds the wait for an upstream's response
	// headers.
	UpstreamResponseHeader Duration `json:"upstream_response_header,omitempty"`
}

// Load reads, validates and resolves the configuration file at path.
// Relative file names inside it are read relative to the file's directory;
// getenv looks up the variables it names.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := readBounded(path, maxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data, filepath.Dir(path), getenv)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse is Load for content already read; dir anchors relative file names.
func Parse(data []byte, dir string, getenv func(string) string) (*Config, error) {
	c := Config{present: map[string]bool{}}
	doc, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		// A syntax error may quote any part of the file.
		return nil, fmt.Errorf("parse: %s", redact.Quoted(err.Error()))
	}
	if err := decodeStrict(doc, &c, c.present); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	files := reader{dir: dir}
	if c.TLSCert != "" {
		c.TLSCert, c.TLSKey = files.path(c.TLSCert), files.path(c.TLSKey)
	}
	if c.Uploads.SpoolDir != "" {
		c.Uploads.SpoolDir = files.path(c.Uploads.SpoolDir)
	}
	if c.Reads.LayerCacheDir != "" {
		c.Reads.LayerCacheDir = files.path(c.Reads.LayerCacheDir)
	}
	c.Cache.Shared.anchor(files)
	if c.CursorKeyFile != "" {
		c.CursorKeyFile = files.path(c.CursorKeyFile)
	}
	seen := make(map[string]bool, len(c.UpstreamSpecs))
	for i, spec := range c.UpstreamSpecs {
		u, err := spec.resolve(dir, getenv)
		if err != nil {
			return nil, fmt.Errorf("upstreams[%d]%s: %w", i, spec.label(), err)
		}
		if seen[u.Name] {
			return nil, fmt.Errorf("upstreams[%d]: name %q is used twice", i, u.Name)
		}
		seen[u.Name] = true
		c.Upstreams = append(c.Upstreams, u)
	}
	return &c, nil
}

// validate checks the values the file holds with the settings' own checks
// (Table.Apply checks them again with whatever the command line laid
// over them) and what only the file can hold.
func (c *Config) validate() error {
	if err := Settings.checkFile(c); err != nil {
		return err
	}
	if err := c.Cache.Shared.validate(); err != nil {
		return fmt.Errorf("cache.shared: %w", err)
	}
	return nil
}

// CheckPairs checks the settings that go together, once flags and variables
// are laid over the file (either half of a pair may come from either).
func (c *Config) CheckPairs() error {
	if c.Cache.MaxEntryBytes > c.Cache.MaxBytes {
		return fmt.Errorf("cache.max_entry_bytes (--cache-max-entry-bytes) %s is more than cache.max_bytes (--cache-max-bytes) %s", c.Cache.MaxEntryBytes, c.Cache.MaxBytes)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("tls_cert and tls_key go together (--tls-cert and --tls-key): give both or neither")
	}
	if c.Pprof && c.MetricsListen == "" {
		return fmt.Errorf("pprof needs metrics_listen (--metrics-listen): profiles are never served on the API address")
	}
	return nil
}

// AuthJSON returns the access-control part of the file as a JSON document
// for auth.ParseConfig, with allow_anonymous set to allowAnonymous (the
// merged value of flag, variable and file).
func (c *Config) AuthJSON(allowAnonymous bool) []byte {
	doc := struct {
		AllowAnonymous  bool            `json:"allow_anonymous,omitempty"`
		Tokens          json.RawMessage `json:"tokens,omitempty"`
		AnonymousScopes json.RawMessage `json:"anonymous_scopes,omitempty"`
	}{allowAnonymous, c.Tokens, c.AnonymousScopes}
	b, err := json.Marshal(doc)
	if err != nil {
		// Only invalid RawMessage fails, and the decoder produced them.
		panic(fmt.Sprintf("config: marshal auth settings: %v", err))
	}
	return b
}

// ParsePlatform reads os/arch[/variant] and insists on both os and arch.
func ParsePlatform(s string) (*v1.Platform, error) {
	p, err := v1.ParsePlatform(strings.ToLower(s))
	if err != nil || p.OS == "" || p.Architecture == "" {
		return nil, fmt.Errorf("platform %q: want os/arch[/variant], e.g. linux/arm64/v8", s)
	}
	return p, nil
}

// readBounded reads a whole file, refusing files larger than limit.
func readBounded(path string, limit int64) ([]byte, error) {
	// The path is the operator's (a flag or a config file's key).
	f, err := os.Open(path) //nolint:gosec // G304: see above
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}
