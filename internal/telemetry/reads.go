package telemetry

import "github.com/prometheus/client_golang/prometheus"

// Reason label values of regapi_read_cuts_total: why an extract or files
// read was cut (internal/handlers' read bounds). Anything else counts as
// ReadCutOther.
const (
	// ReadCutIdle: a write to the client did not complete within
	// --stream-idle-timeout (the client stopped reading).
	ReadCutIdle = "idle"
	// ReadCutSlow: the client took the stream slower than
	// --stream-min-rate, past a first idle timeout of waiting for it.
	ReadCutSlow = "slow"
	// ReadCutDuration: the read outlived --read-max-duration.
	ReadCutDuration = "duration"
	// ReadCutOther: a reason this package does not know.
	ReadCutOther = "other"
)

// Reason label values of regapi_reads_refused_total. Anything else counts
// as ReadRefusedBusy.
const (
	// ReadRefusedBusy: every read slot (--extract-concurrency) was taken.
	ReadRefusedBusy = "busy"
	// ReadRefusedCaller: the caller held its share of the slots
	// (--extract-caller-concurrency), while others may still get one.
	ReadRefusedCaller = "caller"
)

var (
	readCutReasons     = []string{ReadCutIdle, ReadCutSlow, ReadCutDuration, ReadCutOther}
	readRefusedReasons = []string{ReadRefusedBusy, ReadRefusedCaller}
)

// Reads counts what the bounds of the extract and files routes did: reads
// cut mid-way and reads refused a slot. A nil *Reads is valid and counts
// nothing.
//
// Its labels are fixed sets, every series exported at 0 from the start: no
// caller, registry or path ever becomes a label.
type Reads struct {
	cuts    *prometheus.CounterVec
	refused *prometheus.CounterVec
}

func newReads() *Reads {
	r := &Reads{
		cuts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "read_cuts_total",
			Help: "Extract and files reads cut by their bounds, by reason (idle, slow, duration); the client saw a broken transfer.",
		}, []string{"reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "reads_refused_total",
			Help: "Extract and files reads answered 503 TOO_BUSY, by reason: busy (every slot taken), caller (the caller held its share).",
		}, []string{"reason"}),
	}
	for _, v := range readCutReasons {
		r.cuts.WithLabelValues(v)
	}
	for _, v := range readRefusedReasons {
		r.refused.WithLabelValues(v)
	}
	return r
}

func (r *Reads) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.cuts, r.refused}
}

// StreamCut counts one read cut for reason (ReadCutIdle, ReadCutSlow,
// ReadCutDuration); any other reason counts as ReadCutOther.
func (r *Reads) StreamCut(reason string) {
	if r == nil {
		return
	}
	switch reason {
	case ReadCutIdle, ReadCutSlow, ReadCutDuration:
	default:
		reason = ReadCutOther
	}
	r.cuts.WithLabelValues(reason).Inc()
}

// Refused counts one read refused a slot for reason (ReadRefusedBusy,
// ReadRefusedCaller); any other reason counts as ReadRefusedBusy.
func (r *Reads) Refused(reason string) {
	if r == nil {
		return
	}
	if reason != ReadRefusedCaller {
		reason = ReadRefusedBusy
	}
	r.refused.WithLabelValues(reason).Inc()
}
