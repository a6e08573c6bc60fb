package telemetry

import "github.com/prometheus/client_golang/prometheus"

// Insight counts the image table's work beyond its HTTP answer: how many
// rows (one per distinct digest a table met) were worked out from
// manifests and configs. The upstream requests that work cost are counted
// by operation in regapi_upstream_requests_total. A nil *Insight is valid
// and counts nothing.
type Insight struct {
	rows prometheus.Counter
}

func newInsight() *Insight {
	return &Insight{rows: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "image_rows_computed_total",
		Help: "Image table rows worked out from manifests and configs (one per distinct digest a table met), cached or not.",
	})}
}

func (i *Insight) collectors() []prometheus.Collector {
	return []prometheus.Collector{i.rows}
}

// RowsComputed counts n rows worked out. Negative n is ignored.
func (i *Insight) RowsComputed(n int) {
	if i == nil || n <= 0 {
		return
	}
	i.rows.Add(float64(n))
}
