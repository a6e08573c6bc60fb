package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/netutil"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/config"
	"github.com/regapi/regapi/internal/demo"
	"github.com/regapi/regapi/internal/extract"
	"github.com/regapi/regapi/internal/handlers"
	"github.com/regapi/regapi/internal/telemetry"
	"github.com/regapi/regapi/internal/ui"
)

// maxHeaderBytes bounds request headers; regapi's requests are GETs with a
// path and a few headers, far below it.
const maxHeaderBytes = 64 << 10

// logBufferSize is what --log-flush-interval holds at most: about 200
// access-log lines.
const logBufferSize = 64 << 10

// run is the whole program: it reads its settings from args and getenv,
// serves until ctx ends, then shuts down gracefully. It prints the address
// it listens on (and, with --demo, curl lines) to stdout and logs to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	opts, err := parseOptions(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if errors.Is(err, errVersion) {
		_, err := fmt.Fprintf(stdout, "regapi %s (revision %s, %s)\n", version, buildRevision(), runtime.Version())
		return err
	}
	if err != nil {
		return err
	}
	logs := telemetry.NewLogWriter(stderr, logBufferSize, opts.logFlush)
	// Close flushes to stderr; if that fails, there is nowhere left to say so.
	defer func() { _ = logs.Close() }()
	logger, err := telemetry.NewLogger(logs.Writer(stderr), opts.logFormat, opts.logLevel.String())
	if err != nil {
		return err
	}
	logger.Info("starting regapi", "version", version, "revision", revision)
	reg := prometheus.NewRegistry()
	metrics, err := telemetry.NewMetrics(reg, telemetry.WithLogger(logger), telemetry.WithBuildInfo(version, revision))
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if opts.cache.Shared.URL != "" {
		logRedis(logger) // before the client's goroutines start
	}
	answers, err := newCache(opts.cache, reg)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	if answers != nil {
		defer func() {
			if err := answers.Close(); err != nil {
				logger.Warn("close the cache", "err", err)
			}
		}()
		if u := opts.cache.Shared.URL; u != "" {
			// The URL carries no password (checked); /readyz never
			// depends on the server answering.
			logger.Info("shared cache tier", "url", u, "prefix", opts.cache.Shared.Prefix,
				"timeout", time.Duration(opts.cache.Shared.Timeout), "lease", time.Duration(opts.cache.Shared.Lease))
		}
	}
	wrap := func(u handlers.Upstream) handlers.Upstream {
		if answers != nil {
			u.Client = answers.Wrap(u.Name, u.Client)
		}
		return u
	}

	// Listening first: a port in use fails the start before anything is
	// built or seeded.
	ln, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Shutdown closes it on the way out; this covers the early returns.
	defer func() { _ = ln.Close() }()

	var upstreams []handlers.Upstream
	var demoReg *demo.Registry
	if opts.demo {
		started := time.Now()
		demoReg, err = demo.Start(ctx)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer func() {
			if err := demoReg.Close(); err != nil {
				logger.Warn("stop the demo registry", "err", err)
			}
		}()
		upstreams = append(upstreams, wrap(newUpstream(config.Upstream{
			Name:     demoUpstream,
			Endpoint: config.Endpoint{Host: demoReg.Host, Insecure: true},
		}, opts.timeouts, logger, metrics)))
		logger.Info("demo registry seeded", "host", demoReg.Host, "refs", demoReg.Refs, "took", time.Since(started).Round(time.Millisecond))
	}
	for _, u := range opts.upstreams {
		upstreams = append(upstreams, wrap(newUpstream(u, opts.timeouts, logger, metrics)))
		logger.Info("upstream", "name", u.Name, "host", u.Host, "insecure", u.Insecure, "anonymous", u.Anonymous())
	}

	authz, err := auth.New(opts.auth, getenv)
	if err != nil {
		// Names the token and field, never a secret, path or variable.
		return err
	}
	logger.Info("access control", "auth", authz, "demo_anonymous", opts.demoAnonymous,
		"rate_limit", opts.rateLimit, "rate_window", opts.rateWindow, "cors_origins", len(opts.corsOrigins),
		"trusted_proxies", opts.trustedProxies.String())
	if opts.demo && opts.spoolDefault {
		// Demos on one machine share $TMPDIR, and each sweeps its spool
		// directory at start and exit: each gets a directory of its own,
		// so that none removes another's uploads.
		dir, err := os.MkdirTemp(opts.uploads.SpoolDir, "regapi-demo-spool-")
		if err != nil {
			return fmt.Errorf("demo spool dir: %w", err)
		}
		defer func() {
			if err := os.RemoveAll(dir); err != nil {
				logger.Warn("demo spool dir not removed", "dir", dir, "err", err)
			}
		}()
		opts.uploads.SpoolDir = dir
	}
	if err := prepareSpool(opts.uploads.SpoolDir, logger); err != nil {
		return err
	}
	logger.Info("writes", "spool_dir", opts.uploads.SpoolDir, "upload_max_bytes", int64(opts.uploads.MaxBytes),
		"upload_concurrency", opts.uploads.Concurrency, "sync_concurrency", opts.sync.Concurrency)
	var tlsConfig *tls.Config
	if opts.tlsCert != "" {
		// Loaded now, so that a bad pair fails the start, not the first
		// handshake.
		cert, err := tls.LoadX509KeyPair(opts.tlsCert, opts.tlsKey)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}

	var ready atomic.Bool
	cfg := handlers.Config{
		Upstreams:       upstreams,
		DefaultPlatform: opts.defaultPlatform,
		Logger:          logger,
		Ready:           ready.Load,
		Middleware:      []func(http.Handler) http.Handler{telemetry.AssignRequestID, metrics.Middleware},
		Auth:            authz,
		CORSOrigins:     opts.corsOrigins,
		RateLimit:       opts.rateLimit,
		RateWindow:      opts.rateWindow,
		TrustedProxies:  opts.trustedProxies,
		Writes:          handlerWrites(opts.uploads, opts.sync),
		Reads:           handlerReads(opts.reads, newLayerCache(opts.reads, reg, logger), metrics),
		Images:          handlerImages(opts.reads),
		Streams:         metrics.Streams,
		Transfers:       metrics.Transfers,
		BodyTimeout:     time.Duration(opts.timeouts.Body),
		BodyTimeouts:    metrics.Connections,
		Insight:         metrics.Insight,
		Stores:          metrics.Stores,
	}
	metrics.Stores.Watch(telemetry.StoreExtractChunks, extract.ChunksDropped)
	if answers != nil {
		cfg.Cache = answers
		if opts.cache.Shared.URL != "" {
			// File indexes built by one replica serve the fleet.
			cfg.Reads.Shared = answers
		}
	}
	cursorKey := "process"
	switch {
	case opts.cursorKey != "":
		cfg.CursorKey, cursorKey = []byte(opts.cursorKey.Reveal()), "file"
	case answers != nil && opts.cache.Shared.URL != "":
		// Listing cursors one replica seals open on every other.
		cfg.CursorSecrets, cursorKey = answers, "shared tier"
	}
	logger.Info("listing cursors", "key_source", cursorKey)
	if opts.ui {
		cfg.UI = ui.Handler()
	}
	if opts.metricsListen == "" {
		cfg.Metrics = telemetry.MetricsHandler(reg)
	} else {
		stop, err := serveAdmin(opts.metricsListen, telemetry.AdminHandler(reg, opts.pprof), logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	srv := &http.Server{
		Handler:           handlers.NewServer(cfg),
		ReadHeaderTimeout: time.Duration(opts.timeouts.ReadHeader),
		IdleTimeout:       time.Duration(opts.timeouts.Idle),
		MaxHeaderBytes:    maxHeaderBytes,
		// No ReadTimeout or WriteTimeout: extract streams whole
		// filesystems and may take long; request bodies have deadlines
		// of their own (handlers.Config.BodyTimeout) and each upstream
		// call has its own bound.
		ErrorLog:  slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig: tlsConfig,
		ConnState: metrics.Connections.ConnState,
	}
	// Past the cap, connections wait in the kernel's accept queue rather
	// than take descriptors the process needs for upstreams and files.
	ln = netutil.LimitListener(ln, opts.maxConns)
	metrics.Connections.SetLimit(opts.maxConns)

	base := baseURL(ln.Addr())
	if tlsConfig != nil {
		base = "https" + strings.TrimPrefix(base, "http")
	}
	logger.Info("listening", "addr", ln.Addr().String(), "url", base, "max_connections", opts.maxConns,
		"default_platform", opts.defaultPlatform.String(), "allow_anonymous", opts.allowAnonymous, "ui", opts.ui)
	// stdout lines are a convenience: the log line above has the address.
	_, _ = fmt.Fprintf(stdout, "regapi listening on %s\n", base)
	if opts.ui {
		_, _ = fmt.Fprintf(stdout, "browser UI at %s%s\n", base, ui.Prefix)
	}
	if demoReg != nil {
		_ = demo.PrintExamples(stdout, base, demoUpstream) // a convenience, as the lines above
	}
	err = serve(ctx, srv, ln, &ready, opts.shutdownDelay, opts.shutdownGrace, logger)
	// A shutdown that outlasted its grace leaves handlers running as the
	// process exits, perhaps mid-upload: their spool files go now, not at
	// the next start (which may never come on this disk).
	sweepSpool(opts.uploads.SpoolDir, "uploads cut off by the shutdown", logger)
	return err
}

// serve runs srv on ln until ctx ends, then turns readiness off, keeps
// serving for delay so load balancers notice, and shuts down, giving
// in-flight requests grace to finish before their connections are closed.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, ready *atomic.Bool, delay, grace time.Duration, logger *slog.Logger) error {
	served := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			served <- srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig
			return
		}
		served <- srv.Serve(ln)
	}()
	ready.Store(true)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	ready.Store(false)
	logger.Info("shutting down", "delay", delay, "grace", grace)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case err := <-served:
			t.Stop()
			return fmt.Errorf("serve: %w", err)
		}
	}

	// ctx has ended: the grace period is detached from it on purpose.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	started := time.Now()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close() // cuts the rest off; the Shutdown error is the one to report
		return fmt.Errorf("shutdown: requests still running after %s were cut off: %w", grace, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped", "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// serveAdmin serves h (metrics, pprof) on its own listener at addr until
// the returned stop is called.
func serveAdmin(addr string, h http.Handler, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: maxHeaderBytes}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server", "err", err)
		}
	}()
	logger.Info("metrics listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil // at exit: nothing left to serve
}

// baseURL is how a local client reaches addr: a wildcard address becomes
// localhost.
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
