package telemetry

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Distinct repositories, tags and unknown paths must not add series: the
// route label is a pattern, never a path.
func TestCardinality(t *testing.T) {
	m, reg, _ := newTestMetrics(t)
	srv := serve(t, newRouter(m))
	c := srv.Client()
	names := []string{"regapi_http_requests_total", "regapi_http_request_duration_seconds"}

	warm := []string{
		"/api/v1/repos/hub/warm/tags",
		"/api/v1/repos/hub/warm/manifests/latest",
		"/no/such/warm",
	}
	for _, p := range warm {
		get(t, c, srv.URL+p)
	}
	before, err := testutil.GatherAndCount(reg, names...)
	if err != nil {
		t.Fatalf("GatherAndCount: %v", err)
	}
	// 3 counters + 3 histograms: tags, wildcard, unmatched.
	if before != 6 {
		t.Fatalf("series after warm-up = %d, want 6", before)
	}

	for i := range 1000 {
		for _, p := range []string{
			fmt.Sprintf("/api/v1/repos/hub/org%d/repo-%d/tags", i%37, i),
			fmt.Sprintf("/api/v1/repos/hub/org/repo-%d/manifests/v%d", i, i),
			fmt.Sprintf("/no/such/%d", i),
		} {
			get(t, c, srv.URL+p)
		}
	}
	after, err := testutil.GatherAndCount(reg, names...)
	if err != nil {
		t.Fatalf("GatherAndCount: %v", err)
	}
	if after != before {
		t.Errorf("series after 3000 distinct paths = %d, want %d", after, before)
	}
	total := 0.0
	for _, v := range series(t, reg, "regapi_http_requests_total") {
		total += v
	}
	if total != 3003 {
		t.Errorf("sum of regapi_http_requests_total = %v, want 3003", total)
	}
}

// A handler that names its route with raw paths by mistake is capped.
func TestRouteSetCap(t *testing.T) {
	s := newRouteSet(3)
	for i := range 10 {
		s.admit(fmt.Sprintf("/r%d", i))
	}
	tests := []struct{ in, want string }{
		{"/r0", "/r0"},
		{"/r2", "/r2"},
		{"/r3", RouteOther},
		{"/new", RouteOther},
	}
	for _, tt := range tests {
		if got := s.admit(tt.in); got != tt.want {
			t.Errorf("admit(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
