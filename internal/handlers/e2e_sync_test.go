package handlers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry/registrytest"
	"github.com/regapi/regapi/internal/transfer"
)

// syncFaults is a proxy in front of the source registry: manifest requests
// for failTag answer 500, those for a tag hold picks wait until released. A
// real registry shows neither on demand.
type syncFaults struct {
	failTag     string
	hold        func(tag string) bool
	release     chan struct{}
	releaseOnce sync.Once
	failed      atomic.Int64
}

func (f *syncFaults) front(t *testing.T) func(*registrytest.Registry) string {
	return func(src *registrytest.Registry) string {
		target, err := url.Parse(src.URL)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(target)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, tag, isManifest := strings.Cut(r.URL.Path, "/manifests/")
			switch {
			case isManifest && tag == f.failTag:
				f.failed.Add(1)
				http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"injected"}]}`, http.StatusInternalServerError)
				return
			case isManifest && f.hold != nil && f.hold(tag):
				select {
				case <-f.release:
				case <-r.Context().Done():
					return
				}
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(f.unblock) // before srv.Close: cleanups run last first
		return strings.TrimPrefix(srv.URL, "http://")
	}
}

func (f *syncFaults) unblock() { f.releaseOnce.Do(func() { close(f.release) }) }

// syncAnswer is a sync's NDJSON answer, parsed.
type syncAnswer struct {
	events  map[string]transfer.Event
	lines   int
	summary syncSummary
}

// runSync posts req to /api/v1/sync and reads the NDJSON answer line by
// line; afterFirst runs once the first line has arrived, while the sync is
// still going. The whole answer is then checked against the spec.
func runSync(t *testing.T, w *writeWorld, req syncRequest, afterFirst func()) syncAnswer {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	hreq, err := http.NewRequestWithContext(context.Background(), http.MethodPost, w.api.URL+"/api/v1/sync", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+w.api.token)
	res, err := w.api.c.Do(hreq)
	if err != nil {
		t.Fatalf("POST /api/v1/sync: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/x-ndjson" {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("POST /api/v1/sync = %d %s, want 200 application/x-ndjson; body %s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	var all bytes.Buffer
	ans := syncAnswer{events: map[string]transfer.Event{}}
	rd := bufio.NewReader(io.TeeReader(res.Body, &all))
	for {
		line, err := rd.ReadBytes('\n')
		if len(line) > 0 {
			ans.lines++
			if ans.lines == 1 && afterFirst != nil {
				afterFirst()
			}
			var probe map[string]json.RawMessage
			if err := json.Unmarshal(line, &probe); err != nil {
				t.Fatalf("line %d %q: %v", ans.lines, line, err)
			}
			if _, ok := probe["summary"]; ok {
				if err := json.Unmarshal(line, &ans.summary); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if ans.summary != (syncSummary{}) {
				t.Errorf("line %d %s comes after the summary", ans.lines, line)
			}
			var e transfer.Event
			if err := json.Unmarshal(line, &e); err != nil {
				t.Fatal(err)
			}
			if _, dup := ans.events[e.Tag]; dup {
				t.Errorf("tag %s reported twice", e.Tag)
			}
			ans.events[e.Tag] = e
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read the stream: %v", err)
		}
	}
	w.api.validate(t, hreq, response{Status: res.StatusCode, Header: res.Header, Body: all.Bytes()})
	return ans
}

// TestSync50Tags syncs 50 tags with one failing upstream: every tag gets a
// line as it finishes, the failure does not stop the others, the summary
// adds up; a second sync skips what is there. Every copy is held until the
// first line has arrived: the lines of the two skipped tags, far less than
// any buffer, reach the client while the sync runs, so each line is
// flushed.
func TestSync50Tags(t *testing.T) {
	faults := &syncFaults{
		failTag: "t13",
		hold:    func(tag string) bool { return tag != "t00" && tag != "t01" && !strings.HasPrefix(tag, "sha256:") },
		release: make(chan struct{}),
	}
	w := newWriteWorld(t, writeOptions{SrcFront: faults.front(t), Writes: Writes{SyncConcurrency: 4}})
	imgs := make([]v1.Image, 5)
	for i := range imgs {
		imgs[i] = registrytest.RandomImage(t, 1)
	}
	want := map[string]string{} // tag → source digest
	for i := range 50 {
		tag := fmt.Sprintf("t%02d", i)
		want[tag] = registrytest.Push(t, w.src.Host+"/library/app:"+tag, imgs[i%len(imgs)]).String()
	}
	// At the destination already: t00 the same, t01 another image.
	registrytest.Push(t, w.dst.Host+"/mirror/app:t00", imgs[0])
	other := registrytest.PushRandomImage(t, w.dst.Host, "mirror/app", "t01")
	if tags, _ := w.api.tagsOf(t, "dst", "mirror/app"); len(tags) != 2 {
		t.Fatalf("destination tags before = %v, want 2", tags)
	}

	ans := runSync(t, w, syncRequest{Source: "src/library/app", Destination: "dst/mirror/app"}, faults.unblock)
	if ans.lines != 51 || len(ans.events) != 50 {
		t.Errorf("sync wrote %d lines for %d tags, want 51 for 50", ans.lines, len(ans.events))
	}
	if want := (syncSummary{Summary: transfer.Summary{Copied: 47, Skipped: 2, Failed: 1}}); ans.summary != want {
		t.Errorf("summary = %+v, want %+v", ans.summary, want)
	}
	for tag, e := range ans.events {
		switch {
		case tag == "t13":
			if e.Status != transfer.StatusFailed || e.Error == "" {
				t.Errorf("t13 = %+v, want failed with an error", e)
			}
		case tag == "t00":
			if e.Status != transfer.StatusSkipped || e.Reason != transfer.ReasonExists {
				t.Errorf("t00 = %+v, want skipped, exists", e)
			}
		case tag == "t01":
			if e.Status != transfer.StatusSkipped || e.Reason != transfer.ReasonDiffers {
				t.Errorf("t01 = %+v, want skipped, differs", e)
			}
		case e.Status != transfer.StatusCopied || e.Digest != want[tag]:
			t.Errorf("%s = %+v, want copied with %s", tag, e, want[tag])
		}
	}
	if faults.failed.Load() == 0 {
		t.Error("the injected failure never happened")
	}
	// Through the API (the cache saw the destination's list before): 49
	// tags, each with the source's digest; t01 kept its own.
	tags, _ := w.api.tagsOf(t, "dst", "mirror/app")
	if len(tags) != 49 {
		t.Errorf("destination has %d tags, want 49: %v", len(tags), tags)
	}
	for _, tag := range tags {
		wantDigest := want[tag]
		if tag == "t01" {
			wantDigest = must(other.Digest()).String()
		}
		if got := w.api.digestOf(t, "dst", "mirror/app", tag, ""); got != wantDigest {
			t.Errorf("destination %s = %s, want %s", tag, got, wantDigest)
		}
	}

	again := runSync(t, w, syncRequest{Source: "src/library/app", Destination: "dst/mirror/app"}, nil)
	if want := (syncSummary{Summary: transfer.Summary{Skipped: 49, Failed: 1}}); again.summary != want {
		t.Errorf("second sync summary = %+v, want %+v", again.summary, want)
	}

	some := runSync(t, w, syncRequest{Source: "src/library/app", Destination: "dst/mirror/app", Tags: `t0[12]`, Overwrite: true}, nil)
	if want := (syncSummary{Summary: transfer.Summary{Copied: 1, Skipped: 1}}); some.summary != want || some.events["t01"].Status != transfer.StatusCopied {
		t.Errorf("sync of t0[12] with overwrite = %+v %v, want %+v with t01 copied", some.summary, some.events, want)
	}
	if got := w.api.digestOf(t, "dst", "mirror/app", "t01", ""); got != want["t01"] {
		t.Errorf("t01 after overwrite = %s, want %s", got, want["t01"])
	}
}

// TestSyncRejects: what is wrong before the first line is a problem, not a
// stream.
func TestSyncRejects(t *testing.T) {
	w := newWriteWorld(t, writeOptions{})
	registrytest.PushRandomImage(t, w.src.Host, "library/app", "v1")
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"unknown field", `{"source":"src/library/app","destination":"dst/x","tag":"v1"}`, 400, "BODY_INVALID"},
		{"bad expression", `{"source":"src/library/app","destination":"dst/x","tags":"v(1"}`, 400, "BODY_INVALID"},
		{"expression too long", `{"source":"src/library/app","destination":"dst/x","tags":"` + strings.Repeat("a", 2000) + `"}`, 400, "BODY_INVALID"},
		{"source with a tag", `{"source":"src/library/app:v1","destination":"dst/x"}`, 400, "REFERENCE_INVALID"},
		{"destination with a tag", `{"source":"src/library/app","destination":"dst/x:v1"}`, 400, "REFERENCE_INVALID"},
		{"unknown registry", `{"source":"src/library/app","destination":"nope/x"}`, 404, "REGISTRY_UNKNOWN"},
		{"unknown source repository", `{"source":"src/library/nope","destination":"dst/x"}`, 404, "NAME_UNKNOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.api.send(t, http.MethodPost, "/api/v1/sync", "application/json", strings.NewReader(tt.body)).problem(t, tt.status, tt.code)
		})
	}
	if n := writesTo(w.dst); n != 0 {
		t.Errorf("the destination saw %d write requests, want 0", n)
	}
}

// TestSyncAnchored: "tags" must match the whole tag.
func TestSyncAnchored(t *testing.T) {
	w := newWriteWorld(t, writeOptions{})
	img := registrytest.RandomImage(t, 1)
	for _, tag := range []string{"v1", "v1.1", "xv1"} {
		registrytest.Push(t, w.src.Host+"/library/app:"+tag, img)
	}
	ans := runSync(t, w, syncRequest{Source: "src/library/app", Destination: "dst/library/app", Tags: `v1.*`}, nil)
	if _, ok := ans.events["xv1"]; ok || len(ans.events) != 2 || ans.summary.Summary.Copied != 2 {
		t.Errorf("sync of v1.* = %v %+v, want v1 and v1.1 copied, not xv1", ans.events, ans.summary)
	}
}
