package telemetry

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// cannedTransport answers every request with the same response.
type cannedTransport struct{ resp *http.Response }

func (c cannedTransport) RoundTrip(*http.Request) (*http.Response, error) { return c.resp, nil }

// BenchmarkUpstreamTransport measures what UpstreamTransport adds to one
// upstream request (a manifest GET, as a cold read sends), against the same
// request sent to the inner transport directly. Both build a fresh request
// per iteration, as every upstream call does.
func BenchmarkUpstreamTransport(b *testing.B) {
	m, err := NewMetrics(prometheus.NewRegistry(), WithRuntimeMetrics(false))
	if err != nil {
		b.Fatal(err)
	}
	inner := cannedTransport{&http.Response{StatusCode: http.StatusOK, Header: http.Header{}}}
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{{"bare", inner}, {"instrumented", UpstreamTransport(inner, "hub", m)}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req, err := http.NewRequest(http.MethodGet, "https://registry.example/v2/library/alpine/manifests/3.20", nil)
				if err != nil {
					b.Fatal(err)
				}
				resp, err := tc.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				_ = resp.Body.Close() // unread: nothing to lose
			}
		})
	}
}
