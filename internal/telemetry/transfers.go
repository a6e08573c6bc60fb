package telemetry

import "github.com/prometheus/client_golang/prometheus"

// Outcome label values of regapi_sync_tags_total: the per-tag statuses of a
// sync's NDJSON lines (transfer.Status). Anything else counts as
// SyncFailed, as the sync's own summary counts it.
const (
	SyncCopied  = "copied"
	SyncSkipped = "skipped"
	SyncFailed  = "failed"
)

// Outcome label values of regapi_uploads_total. Anything else counts as
// UploadFailed.
const (
	// UploadPushed: the image is tagged at the destination (201).
	UploadPushed = "pushed"
	// UploadRejected: regapi refused the upload for what it is: a digest
	// instead of a tag, over the size cap, not a valid image tarball
	// (400, 413).
	UploadRejected = "rejected"
	// UploadAborted: the body did not arrive whole, the client went away
	// or stalled past the idle timeout, or left while the upload waited
	// for a slot or was being pushed.
	UploadAborted = "aborted"
	// UploadFailed: the tarball was fine but pushing it failed (the
	// upstream refused or failed, the spool disk), or anything else.
	UploadFailed = "failed"
)

var (
	syncOutcomes   = []string{SyncCopied, SyncSkipped, SyncFailed}
	uploadOutcomes = []string{UploadPushed, UploadRejected, UploadAborted, UploadFailed}
)

// Transfers counts what the write routes did beyond their HTTP answer: the
// tags each sync finished (a sync answers 200 whatever happened to its
// tags), the bytes of upload bodies received and how each upload ended. A
// nil *Transfers is valid and counts nothing.
//
// Its labels are fixed sets, every series exported at 0 from the start: no
// registry, repository or tag ever becomes a label.
type Transfers struct {
	syncTags    *prometheus.CounterVec
	uploadBytes prometheus.Counter
	uploads     *prometheus.CounterVec
}

func newTransfers() *Transfers {
	t := &Transfers{
		syncTags: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "sync_tags_total",
			Help: "Tags syncs finished, by outcome (copied, skipped, failed), one per NDJSON tag line.",
		}, []string{"outcome"}),
		uploadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "upload_bytes_total",
			Help: "Bytes of image upload bodies read from clients, as sent (compressed or not), aborted uploads included.",
		}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "uploads_total",
			Help: "Image uploads that passed access control, by outcome (pushed, rejected, aborted, failed).",
		}, []string{"outcome"}),
	}
	for _, o := range syncOutcomes {
		t.syncTags.WithLabelValues(o)
	}
	for _, o := range uploadOutcomes {
		t.uploads.WithLabelValues(o)
	}
	return t
}

func (t *Transfers) collectors() []prometheus.Collector {
	return []prometheus.Collector{t.syncTags, t.uploadBytes, t.uploads}
}

// SyncTag counts one tag a sync finished with status (copied, skipped or
// failed); any other status counts as failed.
func (t *Transfers) SyncTag(status string) {
	if t == nil {
		return
	}
	t.syncTags.WithLabelValues(oneOf(status, syncOutcomes, SyncFailed)).Inc()
}

// UploadBytes counts n bytes of an upload body read. Negative n is ignored.
func (t *Transfers) UploadBytes(n int64) {
	if t == nil || n <= 0 {
		return
	}
	t.uploadBytes.Add(float64(n))
}

// Upload counts one upload that ended with outcome (UploadPushed,
// UploadRejected, UploadAborted or UploadFailed); any other value counts as
// UploadFailed.
func (t *Transfers) Upload(outcome string) {
	if t == nil {
		return
	}
	t.uploads.WithLabelValues(oneOf(outcome, uploadOutcomes, UploadFailed)).Inc()
}

// oneOf returns s if it is in set, otherwise fallback: a caller's string
// never becomes a new label value.
func oneOf(s string, set []string, fallback string) string {
	for _, v := range set {
		if s == v {
			return s
		}
	}
	return fallback
}
