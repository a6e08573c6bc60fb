package handlers

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/regapi/regapi/internal/registry/registrytest"
	"github.com/regapi/regapi/internal/telemetry"
	"github.com/regapi/regapi/internal/transfer"
	"github.com/regapi/regapi/internal/transfer/transfertest"
)

// withWriteMetrics returns cfg counting writes in telemetry's real metrics,
// served at the API's own /metrics, as cmd/server wires them.
func withWriteMetrics(t *testing.T, cfg Config) Config {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := telemetry.NewMetrics(reg, telemetry.WithRuntimeMetrics(false))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Transfers = m.Transfers
	cfg.Metrics = telemetry.MetricsHandler(reg)
	return cfg
}

// writeCounts are the write metrics as /metrics shows them.
type writeCounts struct {
	Copied, Skipped, SyncFailed       float64 // regapi_sync_tags_total{outcome}
	Bytes                             float64 // regapi_upload_bytes_total
	Pushed, Rejected, Aborted, Failed float64 // regapi_uploads_total{outcome}
}

// scrapeWrites reads the write metrics from GET /metrics. Every series of
// the fixed outcome sets must be there (at 0 before anything happened) and
// no other: a series of another outcome fails the test.
func (e *apiEnv) scrapeWrites(t *testing.T) writeCounts {
	t.Helper()
	res := e.get(t, "/metrics")
	if res.Status != http.StatusOK {
		t.Fatalf("GET /metrics = %d", res.Status)
	}
	var c writeCounts
	fields := map[string]*float64{
		`regapi_sync_tags_total{outcome="copied"}`:  &c.Copied,
		`regapi_sync_tags_total{outcome="skipped"}`: &c.Skipped,
		`regapi_sync_tags_total{outcome="failed"}`:  &c.SyncFailed,
		`regapi_upload_bytes_total`:                 &c.Bytes,
		`regapi_uploads_total{outcome="pushed"}`:    &c.Pushed,
		`regapi_uploads_total{outcome="rejected"}`:  &c.Rejected,
		`regapi_uploads_total{outcome="aborted"}`:   &c.Aborted,
		`regapi_uploads_total{outcome="failed"}`:    &c.Failed,
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(string(res.Body), "\n") {
		if !strings.HasPrefix(line, "regapi_sync_tags_total") && !strings.HasPrefix(line, "regapi_upload") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		key, val := line[:i], line[i+1:]
		p, ok := fields[key]
		if !ok {
			t.Errorf("/metrics has %s, outside the fixed outcome sets", line)
			continue
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		*p = v
		seen[key] = true
	}
	for key := range fields {
		if !seen[key] {
			t.Errorf("/metrics lacks %s", key)
		}
	}
	return c
}

// TestSyncMetrics: each tag a sync finished is counted once by the status
// of its NDJSON line, failed tags included although the answer is 200; the
// counts add up to the summaries. A sync refused before its stream counts
// no tag, and syncs count no upload.
func TestSyncMetrics(t *testing.T) {
	faults := &syncFaults{failTag: "t3", release: make(chan struct{})}
	w := newWriteWorld(t, writeOptions{SrcFront: faults.front(t), Config: withWriteMetrics(t, Config{})})
	if got := w.api.scrapeWrites(t); got != (writeCounts{}) {
		t.Fatalf("write metrics before any write = %+v, want all 0", got)
	}
	img := registrytest.RandomImage(t, 1)
	for i := range 5 {
		registrytest.Push(t, w.src.Host+"/library/app:t"+strconv.Itoa(i), img)
	}
	registrytest.Push(t, w.dst.Host+"/mirror/app:t0", img) // skipped: there already

	first := runSync(t, w, syncRequest{Source: "src/library/app", Destination: "dst/mirror/app"}, nil)
	if want := (transfer.Summary{Copied: 3, Skipped: 1, Failed: 1}); first.summary.Summary != want || first.events["t3"].Status != transfer.StatusFailed {
		t.Fatalf("first sync = %+v %v, want %+v with t3 failed", first.summary, first.events, want)
	}
	if got, want := w.api.scrapeWrites(t), (writeCounts{Copied: 3, Skipped: 1, SyncFailed: 1}); got != want {
		t.Errorf("after the first sync: %+v, want %+v", got, want)
	}

	// Everything but t3 is there now; t3 fails again.
	second := runSync(t, w, syncRequest{Source: "src/library/app", Destination: "dst/mirror/app"}, nil)
	if want := (transfer.Summary{Skipped: 4, Failed: 1}); second.summary.Summary != want {
		t.Fatalf("second sync = %+v, want %+v", second.summary, want)
	}
	// Refused before the first line: a problem, no tag.
	w.api.postJSON(t, "/api/v1/sync", syncRequest{Source: "src/library/app", Destination: "nope/mirror/app"}).problem(t, http.StatusNotFound, "REGISTRY_UNKNOWN")

	got := w.api.scrapeWrites(t)
	if want := (writeCounts{Copied: 3, Skipped: 5, SyncFailed: 2}); got != want {
		t.Errorf("after both syncs: %+v, want %+v", got, want)
	}
	sum := transfer.Summary{
		Copied:  first.summary.Summary.Copied + second.summary.Summary.Copied,
		Skipped: first.summary.Summary.Skipped + second.summary.Summary.Skipped,
		Failed:  first.summary.Summary.Failed + second.summary.Summary.Failed,
	}
	if c := got; c.Copied != float64(sum.Copied) || c.Skipped != float64(sum.Skipped) || c.SyncFailed != float64(sum.Failed) {
		t.Errorf("metrics %+v do not add up to the summaries %+v", c, sum)
	}
	if faults.failed.Load() == 0 {
		t.Error("the injected failure never happened")
	}
}

// TestUploadMetrics: every upload past access control is counted once by
// outcome, and upload bytes are counted as read: whole bodies, nothing of
// one refused on its Content-Length, up to the cap of one that goes over it
// unannounced, and what arrived of one the client abandoned.
func TestUploadMetrics(t *testing.T) {
	const maxBytes = 2 << 20
	faults := &syncFaults{failTag: "broken", release: make(chan struct{})}
	w := newWriteWorld(t, writeOptions{
		SrcFront: faults.front(t),
		Writes:   Writes{MaxUploadBytes: maxBytes},
		Config:   withWriteMetrics(t, Config{}),
	})
	img := registrytest.RandomImage(t, 1)
	oci := transfertest.OCILayout(t, img)
	docker := transfertest.Gzip(t, transfertest.DockerArchive(t, img))
	notTar := []byte(strings.Repeat("not an archive ", 100))
	big := transfertest.DockerArchive(t, must(random.Image(maxBytes+1024, 1))) // random bytes do not compress
	var want writeCounts

	// Pushed, both formats: every byte sent is read.
	for i, body := range [][]byte{oci, docker} {
		if res := w.api.put(t, "dst", "team/app", "v"+strconv.Itoa(i), body); res.Status != http.StatusCreated {
			t.Fatalf("PUT v%d = %d, want 201; body %s", i, res.Status, res.Body)
		}
		want.Pushed++
		want.Bytes += float64(len(body))
	}
	if got := w.api.scrapeWrites(t); got != want {
		t.Errorf("after two pushes: %+v, want %+v", got, want)
	}

	// Rejected: not a tarball (read whole, then refused), a digest for a
	// tag and a body announced over the cap (neither read), a body that
	// goes over the cap unannounced (read up to the cap).
	w.api.put(t, "dst", "team/app", "bad", notTar).problem(t, http.StatusBadRequest, "TARBALL_INVALID")
	want.Rejected++
	want.Bytes += float64(len(notTar))
	w.api.put(t, "dst", "team/app", "sha256:"+strings.Repeat("a", 64), oci).problem(t, http.StatusBadRequest, "REFERENCE_INVALID")
	want.Rejected++
	w.api.put(t, "dst", "team/app", "big", big).problem(t, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE")
	want.Rejected++
	chunked := struct{ io.Reader }{bytes.NewReader(big)} // hides the length
	w.api.send(t, http.MethodPut, "/api/v1/repos/dst/team/app/-/images/big", "application/x-tar", chunked).problem(t, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE")
	want.Rejected++
	want.Bytes += maxBytes
	if got := w.api.scrapeWrites(t); got != want {
		t.Errorf("after four rejections: %+v, want %+v", got, want)
	}

	// Failed: a valid tarball the upstream refuses (500 on the manifest).
	if res := w.api.put(t, "src", "team/app", "broken", oci); res.Status < 500 {
		t.Fatalf("PUT to a failing upstream = %d, want 5xx; body %s", res.Status, res.Body)
	}
	want.Failed++
	want.Bytes += float64(len(oci))
	if faults.failed.Load() == 0 {
		t.Error("the injected failure never happened")
	}

	// Not counted: refused by access control before the handler.
	w.api.sendAs(t, "", http.MethodPut, "/api/v1/repos/dst/team/app/-/images/anon", "application/x-tar", oci).problem(t, http.StatusUnauthorized, "UNAUTHORIZED")

	// Aborted: the client sends 256 KiB of a larger body and goes away;
	// those bytes arrived and are counted.
	const sent = 256 << 10
	for len(w.finished) > 0 { // the PUTs above, all answered
		<-w.finished
	}
	conn := startPartialUpload(t, w, sent)
	waitFor(t, "the spool file", func() bool { return len(w.spoolFiles(t)) == 1 })
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	w.waitFinished(t)
	want.Aborted++
	want.Bytes += sent
	if got := w.api.scrapeWrites(t); got != want {
		t.Errorf("at the end: %+v, want %+v", got, want)
	}
	w.assertSpoolEmpty(t)
}
