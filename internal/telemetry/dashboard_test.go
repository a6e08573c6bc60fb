package telemetry

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/layercache"
)

const dashboardPath = "../../deploy/grafana/regapi-dashboard.json"

// exposedLabels returns every metric family regapi exposes with the label
// names of its series: this package's metrics with each vector touched, the
// runtime collectors, and a real cache's metrics.
func exposedLabels(t *testing.T) map[string]map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	if _, err := cache.New(cache.WithRegisterer(reg)); err != nil {
		t.Fatalf("cache.New: %v", err)
	}
	if _, err := layercache.New(t.TempDir(), 1<<20, layercache.WithRegisterer(reg)); err != nil {
		t.Fatalf("layercache.New: %v", err)
	}
	m.httpRequests.WithLabelValues("/x", "GET", "200").Inc()
	m.httpDuration.WithLabelValues("/x", "GET").Observe(1)
	m.upRequests.WithLabelValues("hub", OpPing, OutcomeOK).Inc()
	m.upDuration.WithLabelValues("hub", OpPing).Observe(1)
	m.upRetries.WithLabelValues("hub", OpPing).Inc()
	m.upRateLimited.WithLabelValues("hub").Inc()
	m.upRemaining.WithLabelValues("hub").Set(1)

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]map[string]bool{}
	for _, mf := range mfs {
		labels := map[string]bool{}
		for _, s := range mf.GetMetric() {
			for _, lp := range s.GetLabel() {
				labels[lp.GetName()] = true
			}
		}
		name := mf.GetName()
		if mf.GetType().String() == "HISTOGRAM" {
			hl := map[string]bool{"le": true}
			for k := range labels {
				hl[k] = true
			}
			out[name+"_bucket"] = hl
			out[name+"_sum"] = labels
			out[name+"_count"] = labels
			continue
		}
		out[name] = labels
	}
	return out
}

// collectExprs walks the dashboard JSON and returns every PromQL
// expression: panel targets and templating queries.
func collectExprs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && (k == "expr" || k == "definition") {
				*out = append(*out, s)
				continue
			}
			collectExprs(val, out)
		}
	case []any:
		for _, val := range x {
			collectExprs(val, out)
		}
	}
}

var (
	metricRe = regexp.MustCompile(`\b(?:regapi|go|process)_[a-z0-9_]+\b`)
	// Label names in selectors ({a="x", b=~"y"}) and in by/without clauses.
	matcherRe = regexp.MustCompile(`([a-z_][a-z0-9_]*)\s*(?:=~|!~|!=|=)\s*"`)
	byRe      = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
)

// Labels Prometheus adds at scrape time, and those the dashboard makes.
var scrapeLabels = map[string]bool{"job": true, "instance": true, "class": true}

func TestDashboard(t *testing.T) {
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatalf("read dashboard: %v", err)
	}
	var dash map[string]any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	if dash["title"] != "regapi" || dash["uid"] == "" {
		t.Errorf("dashboard title, uid = %v, %v; want regapi and a uid", dash["title"], dash["uid"])
	}
	exposed := exposedLabels(t)

	var exprs []string
	collectExprs(dash, &exprs)
	if len(exprs) < 20 {
		t.Fatalf("dashboard has %d expressions, want at least 20", len(exprs))
	}
	used := map[string]bool{}
	for _, expr := range exprs {
		names := metricRe.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("expression %q references no regapi, go or process metric", expr)
			continue
		}
		labelsOfExpr := map[string]bool{}
		for _, n := range names {
			labels, ok := exposed[n]
			if !ok {
				t.Errorf("expression %q references %s, which regapi does not expose", expr, n)
				continue
			}
			used[n] = true
			for l := range labels {
				labelsOfExpr[l] = true
			}
		}
		var labelNames []string
		for _, m := range matcherRe.FindAllStringSubmatch(expr, -1) {
			labelNames = append(labelNames, m[1])
		}
		for _, m := range byRe.FindAllStringSubmatch(expr, -1) {
			for _, l := range strings.Split(m[1], ",") {
				labelNames = append(labelNames, strings.TrimSpace(l))
			}
		}
		for _, l := range labelNames {
			if l != "" && !labelsOfExpr[l] && !scrapeLabels[l] {
				t.Errorf("expression %q uses label %q, which none of its metrics has", expr, l)
			}
		}
		if strings.Contains(expr, "histogram_quantile") && !strings.Contains(expr, "_bucket") {
			t.Errorf("expression %q takes a quantile of something that is not a histogram", expr)
		}
	}
	// The panels the dashboard must have: request rate, error rate,
	// latency percentiles, cache hit ratio, upstream latency and errors,
	// streams, sync tag outcomes, upload throughput and outcomes.
	for _, n := range []string{
		"regapi_http_requests_total", "regapi_http_request_duration_seconds_bucket",
		"regapi_cache_hits_total", "regapi_cache_misses_total",
		"regapi_upstream_requests_total", "regapi_upstream_request_duration_seconds_bucket",
		"regapi_streams_active", "regapi_stream_bytes_total", "regapi_build_info",
		"regapi_sync_tags_total", "regapi_upload_bytes_total", "regapi_uploads_total",
	} {
		if !used[n] {
			t.Errorf("dashboard never uses %s", n)
		}
	}
	for _, p := range []string{"0.5", "0.9", "0.99"} {
		if !strings.Contains(string(raw), "histogram_quantile("+p+",") {
			t.Errorf("dashboard lacks histogram_quantile(%s, ...)", p)
		}
	}
}
