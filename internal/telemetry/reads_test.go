package telemetry

import "testing"

func TestReads(t *testing.T) {
	m, reg, _ := newTestMetrics(t)
	cuts := series(t, reg, "regapi_read_cuts_total")
	refused := series(t, reg, "regapi_reads_refused_total")
	if len(cuts) != 4 || len(refused) != 2 {
		t.Fatalf("series at start: cuts %v, refused %v; want every reason at 0", cuts, refused)
	}
	r := m.Reads
	for _, reason := range []string{"slow", "slow", "idle", "duration", "made-up"} {
		r.StreamCut(reason)
	}
	r.Refused("caller")
	r.Refused("busy")
	r.Refused("made-up")
	cuts = series(t, reg, "regapi_read_cuts_total")
	want := map[string]float64{"reason=slow": 2, "reason=idle": 1, "reason=duration": 1, "reason=other": 1}
	for k, v := range want {
		if cuts[k] != v {
			t.Errorf("regapi_read_cuts_total{%s} = %v, want %v (all: %v)", k, cuts[k], v, cuts)
		}
	}
	refused = series(t, reg, "regapi_reads_refused_total")
	if refused["reason=caller"] != 1 || refused["reason=busy"] != 2 {
		t.Errorf("regapi_reads_refused_total = %v, want caller 1, busy 2", refused)
	}

	var nilReads *Reads
	nilReads.StreamCut("slow")
	nilReads.Refused("busy")
}
