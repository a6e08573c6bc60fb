package telemetry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkMiddleware measures what AssignRequestID and Middleware add to a
// request routed by chi, with the access log written as JSON to io.Discard.
func BenchmarkMiddleware(b *testing.B) {
	for _, tc := range []struct {
		name  string
		mw    bool
		level string
	}{{"bare", false, "info"}, {"instrumented", true, "info"}, {"instrumented/no-access-log", true, "warn"}} {
		b.Run(tc.name, func(b *testing.B) {
			logger, err := NewLogger(io.Discard, "json", tc.level)
			if err != nil {
				b.Fatal(err)
			}
			m, err := NewMetrics(prometheus.NewRegistry(), WithLogger(logger), WithRuntimeMetrics(false))
			if err != nil {
				b.Fatal(err)
			}
			r := chi.NewRouter()
			if tc.mw {
				r.Use(AssignRequestID, m.Middleware)
			}
			r.Get("/api/v1/repos/*", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"tags":["latest"]}`))
			})
			req := httptest.NewRequest(http.MethodGet, "/api/v1/repos/hub/library/nginx/-/tags", nil)
			b.ReportAllocs()
			for b.Loop() {
				r.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
