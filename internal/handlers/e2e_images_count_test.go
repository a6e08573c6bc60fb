package handlers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// upstreamKinds sums a registry's request log by method and operation:
// "HEAD manifest", "GET manifest", "GET blob", "GET tags", "GET ping".
func upstreamKinds(r *registrytest.Registry) map[string]int {
	out := map[string]int{}
	for _, req := range r.Requests() {
		method, path, _ := strings.Cut(req, " ")
		kind := "other"
		switch {
		case path == "/v2/" || path == "/v2":
			kind = "ping"
		case strings.HasSuffix(path, "/tags/list"):
			kind = "tags"
		case strings.Contains(path, "/manifests/"):
			kind = "manifest"
		case strings.Contains(path, "/blobs/"):
			kind = "blob"
		case strings.Contains(path, "/referrers/"):
			kind = "referrers"
		}
		out[method+" "+kind]++
	}
	return out
}

// TestImageTableUpstreamRequests counts what a 120-tag table costs the
// upstream: cold, again within the tag TTL (nothing), after it (the tag
// list and a HEAD per tag), and with new tags pushed in between (a HEAD
// each, and a new image's manifest and config).
func TestImageTableUpstreamRequests(t *testing.T) {
	const n = 120
	e := newTableEnv(t, n, Images{})
	want := wantRows(t, e.dist.Host, e.tags)
	// Index entries (platforms plus the fixture's one attestation each)
	// and image manifests, each with a config, as the fixture made them.
	digests := map[string]bool{}
	entries, configs := 0, 0
	for _, r := range want {
		if digests[r.Digest] {
			continue
		}
		digests[r.Digest] = true
		if len(r.Platforms) == 2 {
			entries += 3
			configs += 3
		} else {
			configs++
		}
	}
	e.dist.ResetRequests()

	e.table(t, "limit=1000")
	cold := upstreamKinds(e.dist)
	delete(cold, "GET ping")
	// A HEAD per tag, a GET per distinct manifest (tagged or index entry)
	// and one per config blob: never a manifest twice.
	wantCold := map[string]int{"GET tags": 1, "HEAD manifest": n, "GET manifest": len(digests) + entries, "GET blob": configs}
	if fmt.Sprint(cold) != fmt.Sprint(wantCold) {
		t.Errorf("cold table made %v, want %v", cold, wantCold)
	}
	t.Logf("cold: %v for %d tags, %d digests", cold, n, len(digests))
	if got := e.rows.n.Load(); got != int64(len(digests)) {
		t.Errorf("cold table computed %d rows, want one per digest, %d", got, len(digests))
	}

	e.dist.ResetRequests()
	e.table(t, "limit=1000")
	e.table(t, "sort=-created&limit=1000")
	e.table(t, "digest="+want[e.tags[0]].Digest)
	if got := e.dist.Requests(); len(got) != 0 {
		t.Errorf("tables within the TTL made %d upstream requests, want 0: %v", len(got), got)
	}
	if got := e.rows.n.Load(); got != int64(len(digests)) {
		t.Errorf("after warm tables %d rows were computed, want still %d (the summary memo)", got, len(digests))
	}

	e.clock.advance(31 * time.Second)
	e.table(t, "limit=1000")
	if got, want := upstreamKinds(e.dist), map[string]int{"GET tags": 1, "HEAD manifest": n}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("table after the TTL made %v, want %v", got, want)
	}

	// One new tag on a digest already seen, one on a new image.
	registrytest.Push(t, e.dist.Host+"/"+tableRepo+":zz-new", datedImage(t, tableBase, v1.Platform{OS: "linux", Architecture: "amd64"}))
	retag(t, e.dist.Host, tableRepo, want[e.tags[0]].Digest, "zz-same")
	e.dist.ResetRequests()
	e.clock.advance(31 * time.Second)
	got := e.table(t, "limit=1000")
	if len(got.Images) != n+2 {
		t.Fatalf("table after a push = %d rows, want %d", len(got.Images), n+2)
	}
	// Each new tag a HEAD; the new image its manifest and config, the
	// alias of a known digest nothing more.
	if got, want := upstreamKinds(e.dist), map[string]int{"GET tags": 1, "HEAD manifest": n + 2, "GET manifest": 1, "GET blob": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("table after a new tag made %v, want %v", got, want)
	}
}
