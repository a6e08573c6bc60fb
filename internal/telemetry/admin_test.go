package telemetry

import (
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestAdminHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg, WithBuildInfo("v9.9.9", "deadbeef")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pprof      bool
		path       string
		wantStatus int
		wantBody   string
	}{
		{false, "/metrics", 200, `regapi_build_info{goversion="` + runtime.Version() + `",revision="deadbeef",version="v9.9.9"} 1`},
		{false, "/metrics", 200, "go_goroutines"},
		{false, "/metrics", 200, "process_"},
		{false, "/metrics", 200, "promhttp_metric_handler_requests_total"},
		{false, "/debug/pprof/", 404, ""},
		{false, "/", 404, ""},
		{true, "/metrics", 200, "regapi_build_info"},
		{true, "/debug/pprof/", 200, "goroutine"},
		{true, "/debug/pprof/cmdline", 200, ""},
		{true, "/debug/pprof/goroutine?debug=1", 200, "goroutine profile"},
		{true, "/", 404, ""},
	}
	for _, tt := range tests {
		srv := serve(t, AdminHandler(reg, tt.pprof))
		resp, body := get(t, srv.Client(), srv.URL+tt.path)
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("pprof=%v GET %s = %d, want %d", tt.pprof, tt.path, resp.StatusCode, tt.wantStatus)
		}
		if !strings.Contains(body, tt.wantBody) {
			t.Errorf("pprof=%v GET %s body lacks %q", tt.pprof, tt.path, tt.wantBody)
		}
	}
	// MetricsHandler may be built more than once on the same registry.
	MetricsHandler(reg)
}

func TestPprofMux(t *testing.T) {
	srv := serve(t, PprofMux())
	resp, _ := get(t, srv.Client(), srv.URL+"/debug/pprof/heap?debug=1")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /debug/pprof/heap = %d, want 200", resp.StatusCode)
	}
}

func TestMetricsLint(t *testing.T) {
	m, reg, _ := newTestMetrics(t)
	// Touch every vector so that its family is exposed.
	m.httpRequests.WithLabelValues("/x", "GET", "200").Inc()
	m.httpDuration.WithLabelValues("/x", "GET").Observe(1)
	m.upRequests.WithLabelValues("hub", OpPing, OutcomeOK).Inc()
	m.upDuration.WithLabelValues("hub", OpPing).Observe(1)
	m.upRetries.WithLabelValues("hub", OpPing).Inc()
	m.upRateLimited.WithLabelValues("hub").Inc()
	m.upRemaining.WithLabelValues("hub").Set(1)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatalf("GatherAndLint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

func TestNewMetricsErrors(t *testing.T) {
	if _, err := NewMetrics(nil); err == nil {
		t.Error("NewMetrics(nil) error = nil, want an error")
	}
	if _, err := NewMetrics(prometheus.NewRegistry(), WithLogger(nil)); err == nil {
		t.Error("NewMetrics(reg, WithLogger(nil)) error = nil, want an error")
	}
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg); err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("second NewMetrics on one registry error = nil, want already registered")
	}
}
