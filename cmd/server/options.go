package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/config"
)

// envPrefix turns flag --some-name into variable REGAPI_SOME_NAME.
const envPrefix = "REGAPI_"

// options is the merged result of flags, REGAPI_* variables and the
// configuration file, in that order of precedence, over the defaults.
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

// upstreamFlags collects repeated --upstream values unparsed, so that the
// flag package never quotes one (it may hold credentials) in an error.
type upstreamFlags []string

func (u *upstreamFlags) String() string { return "" }
func (u *upstreamFlags) Set(s string) error {
	*u = append(*u, s)
	return nil
}

// listFlags collects a repeatable flag whose values are comma-separated
// lists (the variable's form too), dropping blank items; the items are
// checked after parsing, with an error that names the bad one.
type listFlags []string

func (l *listFlags) String() string { return strings.Join(*l, ",") }
func (l *listFlags) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}

// parseOptions reads args and the environment, then the configuration file
// they name. It returns flag.ErrHelp after printing usage for -h.
func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("regapi", flag.ContinueOnError)
	// The flag package prints its errors and the whole usage to the
	// output; a mistyped flag should get one line, returned as the error.
	fs.SetOutput(io.Discard)
	var (
		ups            upstreamFlags
		proxies        listFlags
		listen         = fs.String("listen", config.DefaultListen, "address to serve on (host:port; port 0 picks a free one)")
		configFile     = fs.String("config", "", "YAML configuration `file` (upstreams with credentials, TLS, timeouts, cache)")
		allowAnonymous = fs.Bool("allow-anonymous", false, "let callers without a token pull (push and admin always need one); --demo turns it on unless tokens are configured")
		demo           = fs.Bool("demo", false, "start an in-memory registry with sample content as upstream \"demo\"")
		platform       = fs.String("default-platform", config.DefaultPlatform, "`platform` (os/arch[/variant]) served when an index is met without ?platform=")
		logLevel       = fs.String("log-level", config.DefaultLogLevel, "debug, info, warn or error")
		logFormat      = fs.String("log-format", config.DefaultLogFormat, "json or text")
		logFlush       = fs.Duration("log-flush-interval", time.Second, "hold log lines in memory up to this long (or 64 KiB) and write them in one call; warnings and errors are written at once; 0 writes every line as it comes")
		grace          = fs.Duration("shutdown-grace", config.DefaultShutdownGrace, "how long in-flight requests may finish after SIGTERM/SIGINT")
		delay          = fs.Duration("shutdown-delay", 0, "how long to keep serving with /readyz failing before shutting down")
		metricsListen  = fs.String("metrics-listen", "", "serve /metrics on this separate address instead of the API's (host:port)")
		pprofOn        = fs.Bool("pprof", false, "serve net/http/pprof at /debug/pprof/ on the --metrics-listen address")
		rateLimit      = fs.Int("rate-limit", 0, "requests one caller (a token, or a client address) may make per --rate-window; 0 means no limit")
		rateWindow     = fs.Duration("rate-window", time.Minute, "the window --rate-limit counts in")
		tlsCert        = fs.String("tls-cert", "", "serve HTTPS with this PEM certificate `file` (with --tls-key)")
		tlsKey         = fs.String("tls-key", "", "the PEM private key `file` of --tls-cert")
		uploadMax      = fs.String("upload-max-bytes", "2GiB", "cap on one image upload, as sent and once decompressed (`size`: bytes or 512MiB, 2GiB …)")
		spoolDir       = fs.String("spool-dir", "", "`directory` uploads are spooled to, regapi's alone (leftovers are removed at start); default $TMPDIR or /tmp")
		uploadConc     = fs.Int("upload-concurrency", config.DefaultUploadConcurrency, "uploads spooled at once; the spool needs this many times --upload-max-bytes")
		uploadIdle     = fs.Duration("upload-idle-timeout", config.DefaultUploadIdleTimeout, "end an upload whose body makes no progress this long")
		uploadMinRate  = fs.String("upload-min-rate", "16KiB", "average rate (`size` per second) an upload must keep once --upload-idle-timeout has passed since its start; slower ones end with 408")
		uploadMaxDur   = fs.Duration("upload-max-duration", config.DefaultUploadMaxDuration, "longest time one upload's body may take to arrive, whatever its rate")
		bodyTimeout    = fs.Duration("body-timeout", config.DefaultBody, "longest time a request body other than an upload may take to arrive (408 and the connection closed beyond)")
		maxConns       = fs.Int("max-connections", 0, "client connections served at once, more wait to be accepted; 0 means three quarters of the file-descriptor limit")
		syncConc       = fs.Int("sync-concurrency", config.DefaultSyncConcurrency, "tags one sync copies at once (1 to 32)")
		readConc       = fs.Int("extract-concurrency", config.DefaultReadConcurrency, "extracts and file reads served at once, together; beyond it 503 with Retry-After")
		streamIdle     = fs.Duration("stream-idle-timeout", config.DefaultStreamIdleTimeout, "cut an extract or file download whose client stops reading this long (never a whole-download limit)")
		cacheOff       = fs.Bool("cache-disabled", false, "serve every answer from the upstream (no answer cache)")
		cacheMax       = fs.String("cache-max-bytes", "256MiB", "memory budget of the answer cache (`size`: bytes or 512MiB, 1GiB …)")
		cacheStale     = fs.Duration("cache-stale-window", 10*time.Minute, "how long past its TTL a cached answer is served when the upstream fails")
		sharedURL      = fs.String("cache-shared-url", "", "a Redis or Valkey the replicas share as a second cache tier (redis://host:port[/db], rediss:// for TLS; no password: see --cache-shared-password-file)")
		sharedPassFile = fs.String("cache-shared-password-file", "", "`file` holding the password of --cache-shared-url")
		maxFileSize    = fs.String("max-file-size", "256MiB", "largest file the files route serves (`size`: bytes or 64MiB, 1GiB …); 413 beyond")
		maxImageRows   = fs.Int("max-image-rows", config.DefaultMaxImageRows, "most tags the image table computes rows for to sort by date or filter by digest; 400 TOO_MANY_TAGS beyond")
		uiOn           = fs.Bool("ui", true, "serve the browser UI at /ui/ (read-only; it calls the API with the user's token)")
		layerCacheDir  = fs.String("layer-cache-dir", "", "keep the layers extract and files read, uncompressed, in this `directory` (regapi's alone) so that reading an image again downloads nothing; default none")
		layerCacheMax  = fs.String("layer-cache-max-bytes", "8GiB", "bound of --layer-cache-dir (`size`: bytes or 512MiB, 10GiB …); least recently used layers go first")
	)
	fs.Var(&ups, "upstream", "registry to serve as `NAME=URL` (http:// plain, https:// TLS); repeatable, comma-separated in the variable")
	fs.Var(&proxies, "trusted-proxies", "reverse proxies (`CIDRs` or addresses, comma-separated; repeatable) whose X-Forwarded-For names the client, for the rate limit and logs; none by default: the peer is the client")
	showVersion := fs.Bool("version", false, "print the version, VCS revision and Go version, and exit")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			_, _ = fmt.Fprintf(stderr, "Usage: regapi [flags]\n\nEvery flag is also a variable: --some-flag is %sSOME_FLAG; a flag wins over its variable.\n\n", envPrefix)
			fs.PrintDefaults()
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

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := envName(f.Name)
		v := getenv(env)
		if set[f.Name] || v == "" || envErr != nil {
			return
		}
		set[f.Name] = true
		if f.Name == "upstream" {
			for _, s := range strings.Split(v, ",") {
				ups = append(ups, strings.TrimSpace(s)) // checked after parsing, as the flag's are
			}
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			envErr = fmt.Errorf("%s: invalid value for --%s", env, f.Name)
		}
	})
	if envErr != nil {
		return nil, envErr
	}

	var file config.Config
	if *configFile != "" {
		c, err := config.Load(*configFile, getenv)
		if err != nil {
			return nil, err
		}
		file = *c
	}
	// pick returns the flag's value when a flag or variable set it, else the
	// file's value when set, else the flag's default.
	pick := func(flagName, flagValue, fileValue string) string {
		if set[flagName] || fileValue == "" {
			return flagValue
		}
		return fileValue
	}
	pickDuration := func(flagName string, flagValue time.Duration, fileValue config.Duration) time.Duration {
		if set[flagName] || fileValue == 0 {
			return flagValue
		}
		return time.Duration(fileValue)
	}

	o := &options{
		listen:         pick("listen", *listen, file.Listen),
		allowAnonymous: *allowAnonymous || (!set["allow-anonymous"] && file.AllowAnonymous),
		demo:           *demo,
		logFormat:      pick("log-format", *logFormat, file.LogFormat),
		logFlush:       *logFlush,
		shutdownGrace:  pickDuration("shutdown-grace", *grace, file.ShutdownGrace),
		shutdownDelay:  pickDuration("shutdown-delay", *delay, file.ShutdownDelay),
		timeouts:       withTimeoutDefaults(file.Timeouts, set["body-timeout"], *bodyTimeout),
		metricsListen:  pick("metrics-listen", *metricsListen, file.MetricsListen),
		pprof:          *pprofOn,
	}
	if err := checkListen(o.listen); err != nil {
		return nil, err
	}
	if o.pprof && o.metricsListen == "" {
		return nil, errors.New("--pprof needs --metrics-listen: profiles are never served on the API address")
	}
	p, err := config.ParsePlatform(pick("default-platform", *platform, file.DefaultPlatform))
	if err != nil {
		return nil, fmt.Errorf("default platform: %w", err)
	}
	o.defaultPlatform = *p
	if err := o.logLevel.UnmarshalText([]byte(pick("log-level", *logLevel, file.LogLevel))); err != nil {
		return nil, fmt.Errorf("log level: want debug, info, warn or error")
	}
	if o.logFormat != "json" && o.logFormat != "text" {
		return nil, fmt.Errorf("log format %q: want json or text", o.logFormat)
	}
	if o.logFlush < 0 {
		return nil, errors.New("log flush interval must not be negative")
	}
	if o.shutdownGrace <= 0 {
		return nil, errors.New("shutdown grace must be positive")
	}
	if o.shutdownDelay < 0 {
		return nil, errors.New("shutdown delay must not be negative")
	}

	if o.auth, err = auth.ParseConfig(file.AuthJSON(o.allowAnonymous)); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// auth opens secret files as given; the configuration's relative
	// names are relative to the file, as everywhere else in it.
	for i, t := range o.auth.Tokens {
		if t.SecretFile != "" && !filepath.IsAbs(t.SecretFile) {
			o.auth.Tokens[i].SecretFile = filepath.Join(filepath.Dir(*configFile), t.SecretFile)
		}
	}
	// The demo is for trying regapi out: its printed curl lines carry no
	// token. With tokens configured, or --allow-anonymous (or its variable)
	// given either way, the configuration decides.
	if o.demo && len(o.auth.Tokens) == 0 && !set["allow-anonymous"] {
		o.allowAnonymous, o.auth.AllowAnonymous, o.demoAnonymous = true, true, true
	}
	o.corsOrigins = file.CORSOrigins
	o.rateLimit = *rateLimit
	if !set["rate-limit"] && file.RateLimit != 0 {
		o.rateLimit = file.RateLimit
	}
	o.rateWindow = pickDuration("rate-window", *rateWindow, file.RateWindow)
	if set["trusted-proxies"] {
		// The flag or variable replaces the file's list, as every flag
		// wins over the file; given empty, it trusts no one.
		if o.trustedProxies, err = auth.ParseTrustedProxies(proxies); err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %w", err)
		}
	} else if o.trustedProxies, err = auth.ParseTrustedProxies(file.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}
	if o.rateLimit < 0 || o.rateWindow <= 0 {
		return nil, errors.New("rate limit must not be negative and its window must be positive")
	}
	o.tlsCert, o.tlsKey = *tlsCert, *tlsKey
	if !set["tls-cert"] && !set["tls-key"] {
		o.tlsCert, o.tlsKey = file.TLSCert, file.TLSKey
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together: give both or neither")
	}

	if o.uploads, o.sync, err = writeOptions(file, set, writeFlags{*uploadMax, *spoolDir, *uploadConc, *uploadIdle, *uploadMinRate, *uploadMaxDur, *syncConc}); err != nil {
		return nil, err
	}
	o.spoolDefault = !set["spool-dir"] && file.Uploads.SpoolDir == ""
	if o.timeouts.Body <= 0 {
		return nil, errors.New("body timeout must be positive")
	}
	o.maxConns = *maxConns
	if !set["max-connections"] && file.MaxConnections != 0 {
		o.maxConns = file.MaxConnections
	}
	if o.maxConns < 0 {
		return nil, errors.New("max connections must not be negative")
	}
	if o.maxConns == 0 {
		o.maxConns = defaultMaxConnections()
	}
	if o.cache, err = cacheOptions(file.Cache, set, *cacheOff, *cacheMax, *cacheStale); err != nil {
		return nil, err
	}
	if o.cache, err = sharedOptions(o.cache, set, *sharedURL, *sharedPassFile); err != nil {
		return nil, err
	}
	if o.reads, err = readOptions(file, set, readFlags{*readConc, *streamIdle, *maxFileSize, *layerCacheDir, *layerCacheMax, *maxImageRows}); err != nil {
		return nil, err
	}

	o.ui = *uiOn
	if !set["ui"] && file.UI != nil {
		o.ui = *file.UI
	}

	o.upstreams = file.Upstreams
	for _, s := range ups {
		u, err := config.ParseUpstream(s)
		if err != nil {
			return nil, err
		}
		o.upstreams = append(o.upstreams, u)
	}
	seen := map[string]bool{}
	if o.demo {
		seen[demoUpstream] = true
	}
	for _, u := range o.upstreams {
		if seen[u.Name] {
			return nil, fmt.Errorf("upstream %q is configured twice (\"demo\" is taken by --demo)", u.Name)
		}
		seen[u.Name] = true
	}
	if len(seen) == 0 {
		return nil, errors.New("no upstreams: give --upstream NAME=URL, --config FILE or --demo")
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	slices.Sort(names)
	if err := o.auth.CheckRegistries(names); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return o, nil
}

// errVersion is parseOptions' answer to --version: run prints the version
// and returns.
var errVersion = errors.New("version asked")

// checkListen catches the common slip of a bare port for --listen.
func checkListen(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		if _, convErr := strconv.Atoi(addr); convErr == nil {
			return fmt.Errorf("listen address %q has no host part: write \":%s\" to listen on port %s of every interface", addr, addr, addr)
		}
		return fmt.Errorf("listen address %q: want host:port, e.g. \":8080\" or \"127.0.0.1:8080\"", addr)
	}
	return nil
}

// envName maps a flag name to its variable: shutdown-grace → REGAPI_SHUTDOWN_GRACE.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// withTimeoutDefaults fills the zero timeouts; --body-timeout, when given,
// wins over the file's timeouts.body.
func withTimeoutDefaults(t config.Timeouts, bodySet bool, body time.Duration) config.Timeouts {
	if bodySet || t.Body == 0 {
		t.Body = config.Duration(body)
	}
	if t.ReadHeader == 0 {
		t.ReadHeader = config.Duration(config.DefaultReadHeader)
	}
	if t.Idle == 0 {
		t.Idle = config.Duration(config.DefaultIdle)
	}
	if t.Upstream == 0 {
		t.Upstream = config.Duration(config.DefaultUpstreamTimeout)
	}
	return t
}
