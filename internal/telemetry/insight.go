package telemetry

import "github.com/prometheus/client_golang/prometheus"

// Insight counts the image table's work beyond its HTTP answer: how many
// rows (summaries of a digest, for the table and inspect) were worked out
// from manifests and configs rather than found in the summary memo. The upstream requests that work cost are counted
// by operation in regapi_upstream_requests_total. A nil *Insight is valid
// and counts nothing.
type Insight struct {
	rows, failed prometheus.Counter
}

func newInsight() *Insight {
	return &Insight{
		rows: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "image_rows_computed_total",
			Help: "Image summaries (table rows, inspect answers) worked out from manifests and configs, not found in the summary memo.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "image_rows_failed_total",
			Help: "Image table rows answered with an error because the upstream failed on their tag (the table was answered incomplete).",
		}),
	}
}

func (i *Insight) collectors() []prometheus.Collector {
	return []prometheus.Collector{i.rows, i.failed}
}

// RowsFailed counts n rows answered with an error. Negative n is ignored.
func (i *Insight) RowsFailed(n int) {
	if i == nil || n <= 0 {
		return
	}
	i.failed.Add(float64(n))
}

// RowsComputed counts n rows worked out. Negative n is ignored.
func (i *Insight) RowsComputed(n int) {
	if i == nil || n <= 0 {
		return
	}
	i.rows.Add(float64(n))
}
