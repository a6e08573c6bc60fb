package telemetry

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// namespace prefixes every metric of the service.
const namespace = "regapi"

// httpBuckets reach five minutes because a streamed filesystem tar of a
// large image takes that long; the low end resolves cache hits.
var httpBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// upstreamBuckets measure the time to an upstream's response headers, which
// the client bounds at 30 seconds by default (ResponseHeaderTimeout).
var upstreamBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics holds regapi's HTTP, upstream, stream, write and build metrics. A
// nil *Metrics is valid: its middleware and transport only pass requests on.
type Metrics struct {
	// Streams counts streamed response bodies; handlers call its methods.
	Streams *Streams
	// Transfers counts synced tags and uploads; handlers call its methods.
	Transfers *Transfers
	// FileIndexes counts the use of the files route's file indexes;
	// handlers call its methods.
	FileIndexes *FileIndexes
	// Reads counts the extract and files reads cut or refused by their
	// bounds; handlers call its methods.
	Reads *Reads
	// Connections counts client connections and slow bodies; the server's
	// ConnState hook and the handlers call its methods.
	Connections *Connections
	// Insight counts the image table's rows; handlers call its methods.
	Insight *Insight
	// Stores counts the evictions of the hot path's bounded stores; the
	// handlers call its methods, cmd/server watches the others.
	Stores *Stores

	logger *slog.Logger
	routes *routeSet

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpInFlight prometheus.Gauge

	upRequests    *prometheus.CounterVec
	upDuration    *prometheus.HistogramVec
	upRetries     *prometheus.CounterVec
	upRateLimited *prometheus.CounterVec
	upRemaining   *prometheus.GaugeVec
}

// Option configures NewMetrics.
type Option func(*options) error

type options struct {
	logger   *slog.Logger
	version  string
	revision string
	runtime  bool
}

// WithLogger sets the logger for access log lines and upstream failures.
// The default value is a logger that discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithBuildInfo sets the version and revision reported by regapi_build_info.
// The default values come from the binary's embedded build information
// (module version and vcs.revision), "unknown" when absent.
func WithBuildInfo(version, revision string) Option {
	return func(o *options) error {
		if version != "" {
			o.version = version
		}
		if revision != "" {
			o.revision = revision
		}
		return nil
	}
}

// WithRuntimeMetrics registers the Go runtime and process collectors
// (go_*, process_*) alongside regapi's metrics. The default value is true.
func WithRuntimeMetrics(on bool) Option {
	return func(o *options) error {
		o.runtime = on
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{
		logger:   slog.New(slog.DiscardHandler),
		version:  "unknown",
		revision: "unknown",
		runtime:  true,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" {
			o.version = v
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				o.revision = s.Value
			}
		}
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// NewMetrics creates regapi's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer, opts ...Option) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("new metrics: nil registerer")
	}
	o, err := makeOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("new metrics: %w", err)
	}
	m := &Metrics{
		logger: o.logger,
		routes: newRouteSet(maxRoutes),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "http_requests_total",
			Help: "HTTP requests served, by chi route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, body included, by route pattern and method.",
			Buckets: httpBuckets,
		}, []string{"route", "method"}),
		httpInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		upRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "upstream_requests_total",
			Help: "Requests sent to upstream registries (each retry counts), by registry, operation and outcome.",
		}, []string{"registry", "operation", "outcome"}),
		upDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "upstream_request_duration_seconds",
			Help:    "Time to an upstream registry's response headers, by registry and operation.",
			Buckets: upstreamBuckets,
		}, []string{"registry", "operation"}),
		upRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "upstream_retries_total",
			Help: "Upstream requests that repeat an earlier failed attempt, by registry and operation.",
		}, []string{"registry", "operation"}),
		upRateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "upstream_rate_limited_total",
			Help: "Upstream answers with status 429 Too Many Requests, by registry.",
		}, []string{"registry"}),
		upRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "upstream_ratelimit_remaining",
			Help: "Requests left in the upstream's rate-limit window, from its RateLimit-Remaining header, by registry.",
		}, []string{"registry"}),
		Streams:     newStreams(),
		Transfers:   newTransfers(),
		FileIndexes: newFileIndexes(),
		Reads:       newReads(),

		Connections: newConnections(),
		Insight:     newInsight(),
		Stores:      newStores(),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help: "Always 1; labels carry the version, VCS revision and Go version of the binary.",
	}, []string{"version", "revision", "goversion"})
	build.WithLabelValues(o.version, o.revision, runtime.Version()).Set(1)

	cs := []prometheus.Collector{
		m.httpRequests, m.httpDuration, m.httpInFlight,
		m.upRequests, m.upDuration, m.upRetries, m.upRateLimited, m.upRemaining,
		m.Streams.active, m.Streams.bytes, build,
	}
	cs = append(cs, m.Transfers.collectors()...)
	cs = append(cs, m.FileIndexes.collectors()...)
	cs = append(cs, m.Reads.collectors()...)
	cs = append(cs, m.Connections.collectors()...)
	cs = append(cs, m.Insight.collectors()...)
	cs = append(cs, m.Stores)
	if o.runtime {
		cs = append(cs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("new metrics: %w", err)
		}
	}
	return m, nil
}
