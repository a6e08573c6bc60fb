package telemetry

import (
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsHandler serves reg's metrics in the Prometheus text or OpenMetrics
// format, and counts its own scrapes and errors on reg
// (promhttp_metric_handler_*).
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg,
		EnableOpenMetrics: true,
		// Bound a scrape that would otherwise pile up behind a slow collector.
		MaxRequestsInFlight: 4,
	}))
}

// PprofMux returns a fresh ServeMux with net/http/pprof's handlers under
// /debug/pprof/. It never touches http.DefaultServeMux's routes for serving:
// regapi serves DefaultServeMux nowhere, so importing net/http/pprof exposes
// nothing by itself.
func PprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	registerPprof(mux)
	return mux
}

// AdminHandler is the handler of the separate metrics listener: GET /metrics
// and, when pprof is true, /debug/pprof/. Everything else is 404.
func AdminHandler(reg *prometheus.Registry, pprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", MetricsHandler(reg))
	if pprof {
		registerPprof(mux)
	}
	return mux
}

func registerPprof(mux *http.ServeMux) {
	// Index also serves the named profiles: /debug/pprof/heap, goroutine, ...
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
