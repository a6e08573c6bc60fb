package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/config"
)

// options is what run needs of the merged settings, in the forms it uses.
type options struct {
	listen          string
	upstreams       []config.Upstream
	allowAnonymous  bool
	demo            bool
	defaultPlatform v1.Platform
	logLevel        slog.Level
	logFormat       string
	logFlush        time.Duration
	shutdownGrace   time.Duration
	shutdownDelay   time.Duration
	timeouts        config.Timeouts
	cache           config.Cache
	metricsListen   string
	pprof           bool
	// auth is the access-control configuration (tokens, anonymous scopes)
	// with allowAnonymous folded in; its secrets are loaded by auth.New.
	auth auth.Config
	// demoAnonymous records that --demo turned anonymous pulls on.
	demoAnonymous bool
	corsOrigins   []string
	rateLimit     int
	rateWindow    time.Duration
	// trustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (for the rate limit and the access log).
	trustedProxies auth.TrustedProxies
	tlsCert        string
	tlsKey         string
	// cursorKey seals listing cursors (cursor_key_file's content); empty:
	// the shared tier's key, else the process's own.
	cursorKey config.Secret
	// uploads and sync configure the write routes; uploads.SpoolDir is
	// resolved (never empty).
	uploads config.Uploads
	sync    config.Sync
	// reads configures extract and files.
	reads config.Reads
	// maxConns caps the connections served at once (resolved: never 0).
	maxConns int
	// spoolDefault records that no spool directory was configured:
	// uploads.SpoolDir is the system's temporary directory.
	spoolDefault bool
	// ui serves the browser UI at /ui/.
	ui bool
}

// parseOptions reads args, the environment and the configuration file they
// name, and merges them setting by setting (config.Settings: a flag wins over
// its variable, a variable over the file, the file over the default). It
// returns flag.ErrHelp after printing usage for -h.
func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("regapi", flag.ContinueOnError)
	// The flag package prints its errors and the whole usage to the
	// output; a mistyped flag should get one line, returned as the error.
	fs.SetOutput(io.Discard)
	given := config.Settings.Register(fs)
	showVersion := fs.Bool("version", false, "print the version, VCS revision and Go version, and exit")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			_, _ = fmt.Fprintf(stderr, "Usage: regapi [flags]\n\nEvery flag is also a variable: --some-flag is %sSOME_FLAG; a flag wins over its variable, a variable over the configuration file. docs/configuration.md lists every setting.\n\n", config.EnvPrefix)
			config.Settings.Usage(stderr, "  --version\n    \tprint the version, VCS revision and Go version, and exit")
			return nil, err
		}
		return nil, fmt.Errorf("%w (regapi --help lists every flag)", err)
	}
	if *showVersion {
		return nil, errVersion
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every setting is a flag", fs.Arg(0))
	}

	c := &config.Config{}
	configSetting, _ := config.Settings.ByFlag("config")
	configFile := ""
	if texts, src := config.Settings.Layer(given, getenv, configSetting); src != config.FromDefault {
		configFile = texts[len(texts)-1]
	}
	if configFile != "" {
		var err error
		if c, err = config.Load(configFile, getenv); err != nil {
			return nil, err
		}
	}
	if err := config.Settings.Apply(c, given, getenv); err != nil {
		return nil, err
	}
	if err := c.CheckPairs(); err != nil {
		return nil, err
	}
	if err := c.ResolveShared(getenv); err != nil {
		return nil, err
	}
	if err := c.ResolveCursorKey(); err != nil {
		return nil, err
	}

	o := &options{
		listen:         c.Listen,
		allowAnonymous: c.AllowAnonymous,
		demo:           c.Demo,
		logFormat:      c.LogFormat,
		logFlush:       time.Duration(c.LogFlushInterval),
		shutdownGrace:  time.Duration(c.ShutdownGrace),
		shutdownDelay:  time.Duration(c.ShutdownDelay),
		timeouts:       c.Timeouts,
		metricsListen:  c.MetricsListen,
		pprof:          c.Pprof,
		corsOrigins:    c.CORSOrigins,
		rateLimit:      c.RateLimit,
		rateWindow:     time.Duration(c.RateWindow),
		tlsCert:        c.TLSCert,
		tlsKey:         c.TLSKey,
		cursorKey:      c.CursorKey,
		uploads:        c.Uploads,
		sync:           c.Sync,
		reads:          c.Reads,
		maxConns:       c.MaxConnections,
		cache:          c.Cache,
		ui:             c.UI,
	}
	if o.listen == "" {
		return nil, errors.New("listen: want host:port, e.g. \":8080\"")
	}
	p, err := config.ParsePlatform(c.DefaultPlatform)
	if err != nil {
		return nil, fmt.Errorf("default platform: %w", err)
	}
	o.defaultPlatform = *p
	if err := o.logLevel.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("log level: want debug, info, warn or error")
	}
	if o.trustedProxies, err = auth.ParseTrustedProxies(c.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	if o.maxConns == 0 {
		o.maxConns = defaultMaxConnections()
	}
	// Resolved here, once: in Kubernetes the chart points TMPDIR at the
	// pod's emptyDir.
	o.spoolDefault = o.uploads.SpoolDir == ""
	if o.spoolDefault {
		o.uploads.SpoolDir = os.TempDir()
	}

	if o.auth, err = auth.ParseConfig(c.AuthJSON(o.allowAnonymous)); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// auth opens secret files as given; the configuration's relative
	// names are relative to the file, as everywhere else in it.
	for i, t := range o.auth.Tokens {
		if t.SecretFile != "" && !filepath.IsAbs(t.SecretFile) {
			o.auth.Tokens[i].SecretFile = filepath.Join(filepath.Dir(configFile), t.SecretFile)
		}
	}
	// The demo is for trying regapi out: its printed curl lines carry no
	// token. With tokens configured, or allow_anonymous set either way by
	// a flag, a variable or the file, the configuration decides.
	// The pulls it lets in are the demo's only: an upstream configured next
	// to it stays closed to callers without a token.
	if o.demo && len(o.auth.Tokens) == 0 && c.Source("allow_anonymous") == config.FromDefault {
		o.allowAnonymous, o.auth.AllowAnonymous, o.demoAnonymous = true, true, true
		if len(o.auth.AnonymousScopes) == 0 {
			o.auth.AnonymousScopes = []auth.Scope{{Registry: demoUpstream, Repositories: []string{"**"}, Actions: []auth.Action{auth.ActionPull}}}
		}
	}

	var names []string
	if o.upstreams, names, err = upstreams(c, given, getenv); err != nil {
		return nil, err
	}
	if err := o.auth.CheckRegistries(names); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return o, nil
}

// upstreams returns the file's upstreams followed by those of --upstream
// (or its variable): each is a named entry, so the two lists are served
// together, and a name may be used once. It returns the names served, the
// demo's included.
func upstreams(c *config.Config, given *config.Given, getenv func(string) string) ([]config.Upstream, []string, error) {
	s, _ := config.Settings.ByFlag("upstream")
	texts, src := config.Settings.Layer(given, getenv, s)
	ups := c.Upstreams
	for _, text := range texts {
		items := []string{text}
		if src == config.FromEnv {
			// Refused whole: split at its commas, a password holding
			// one would be quoted in part by the error about its URL.
			if strings.Contains(text, "@") {
				return nil, nil, fmt.Errorf("%s: a URL must not carry credentials: read them from a file or variable with --config (username_file, password_file, password_env)", s.Env())
			}
			items = strings.Split(text, ",")
		}
		for _, item := range items {
			u, err := config.ParseUpstream(strings.TrimSpace(item))
			if err != nil {
				return nil, nil, err
			}
			ups = append(ups, u)
		}
	}
	seen := map[string]bool{}
	if c.Demo {
		seen[demoUpstream] = true
	}
	for _, u := range ups {
		if seen[u.Name] {
			return nil, nil, fmt.Errorf("upstream %q is configured twice (\"demo\" is taken by --demo)", u.Name)
		}
		seen[u.Name] = true
	}
	if len(seen) == 0 {
		return nil, nil, errors.New("no upstreams: give --upstream NAME=URL, --config FILE or --demo")
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	slices.Sort(names)
	return ups, names, nil
}

// errVersion is parseOptions' answer to --version: run prints the version
// and returns.
var errVersion = errors.New("version asked")
