package telemetry

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Every outcome series exists at 0 before anything happened, each call
// counts once, and an unknown outcome lands in "failed", never in a series
// of its own.
func TestTransfers(t *testing.T) {
	m, reg, _ := newTestMetrics(t)
	names := []string{"regapi_sync_tags_total", "regapi_upload_bytes_total", "regapi_uploads_total"}
	const zero = `
# HELP regapi_sync_tags_total Tags syncs finished, by outcome (copied, skipped, failed), one per NDJSON tag line.
# TYPE regapi_sync_tags_total counter
regapi_sync_tags_total{outcome="copied"} 0
regapi_sync_tags_total{outcome="failed"} 0
regapi_sync_tags_total{outcome="skipped"} 0
# HELP regapi_upload_bytes_total Bytes of image upload bodies read from clients, as sent (compressed or not), aborted uploads included.
# TYPE regapi_upload_bytes_total counter
regapi_upload_bytes_total 0
# HELP regapi_uploads_total Image uploads that passed access control, by outcome (pushed, rejected, aborted, failed).
# TYPE regapi_uploads_total counter
regapi_uploads_total{outcome="aborted"} 0
regapi_uploads_total{outcome="failed"} 0
regapi_uploads_total{outcome="pushed"} 0
regapi_uploads_total{outcome="rejected"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(zero), names...); err != nil {
		t.Fatalf("before any write: %v", err)
	}

	tr := m.Transfers
	for _, s := range []string{"copied", "copied", "skipped", "failed", "deleted", ""} {
		tr.SyncTag(s)
	}
	tr.UploadBytes(1000)
	tr.UploadBytes(24)
	tr.UploadBytes(0)
	tr.UploadBytes(-7)
	for _, o := range []string{UploadPushed, UploadPushed, UploadRejected, UploadAborted, UploadFailed, "TARBALL_INVALID"} {
		tr.Upload(o)
	}
	const after = `
# HELP regapi_sync_tags_total Tags syncs finished, by outcome (copied, skipped, failed), one per NDJSON tag line.
# TYPE regapi_sync_tags_total counter
regapi_sync_tags_total{outcome="copied"} 2
regapi_sync_tags_total{outcome="failed"} 3
regapi_sync_tags_total{outcome="skipped"} 1
# HELP regapi_upload_bytes_total Bytes of image upload bodies read from clients, as sent (compressed or not), aborted uploads included.
# TYPE regapi_upload_bytes_total counter
regapi_upload_bytes_total 1024
# HELP regapi_uploads_total Image uploads that passed access control, by outcome (pushed, rejected, aborted, failed).
# TYPE regapi_uploads_total counter
regapi_uploads_total{outcome="aborted"} 1
regapi_uploads_total{outcome="failed"} 2
regapi_uploads_total{outcome="pushed"} 2
regapi_uploads_total{outcome="rejected"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(after), names...); err != nil {
		t.Error(err)
	}
	// Cardinality is the fixed sets: 3 + 1 + 4 series, whatever came in.
	if n, err := testutil.GatherAndCount(reg, names...); err != nil || n != 8 {
		t.Errorf("series = %d (%v), want 8", n, err)
	}
}

func TestTransfersNil(t *testing.T) {
	var tr *Transfers
	tr.SyncTag(SyncCopied)
	tr.UploadBytes(3)
	tr.Upload(UploadPushed)
}
