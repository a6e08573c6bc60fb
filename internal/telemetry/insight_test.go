package telemetry

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestInsightRowsComputed(t *testing.T) {
	i := newInsight()
	i.RowsComputed(3)
	i.RowsComputed(-1)
	i.RowsComputed(0)
	if got := testutil.ToFloat64(i.rows); got != 3 {
		t.Errorf("regapi_image_rows_computed_total = %v, want 3", got)
	}
	var none *Insight
	none.RowsComputed(1) // a nil *Insight counts nothing and does not panic
}
