package handlers

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// TestCopyIndex copies a multi-arch index between the two registries and
// checks the index and every child through the API; a second copy uploads
// no blob; one platform alone is copied as that image.
func TestCopyIndex(t *testing.T) {
	w := newWriteWorld(t, writeOptions{})
	idx := registrytest.PushRandomIndex(t, w.src.Host, "multi/app", "v1", indexPlatforms...)

	// A tag list of the destination cached before the copy.
	registrytest.PushRandomImage(t, w.dst.Host, "mirror/app", "old")
	if tags, _ := w.api.tagsOf(t, "dst", "mirror/app"); !slices.Equal(tags, []string{"old"}) {
		t.Fatalf("tags before = %v, want [old]", tags)
	}

	copyTo := func(req copyRequest) string {
		t.Helper()
		res := w.api.postJSON(t, "/api/v1/copy", req)
		if res.Status != http.StatusOK {
			t.Fatalf("POST /api/v1/copy %+v = %d, want 200; body %s", req, res.Status, res.Body)
		}
		var d copyResponse
		res.json(t, &d)
		return d.Digest
	}
	if got, want := copyTo(copyRequest{Source: "src/multi/app:v1", Destination: "dst/mirror/app:v1"}), must(idx.Digest()).String(); got != want {
		t.Errorf("copy digest = %s, want the index's %s", got, want)
	}
	if got, want := w.api.digestOf(t, "dst", "mirror/app", "v1", ""), must(idx.Digest()).String(); got == want {
		t.Errorf("digest without platform = the index's; want the default platform's child")
	}
	for _, p := range indexPlatforms {
		want := childOf(t, idx, p).Digest.String()
		if got := w.api.digestOf(t, "dst", "mirror/app", "v1", p.String()); got != want {
			t.Errorf("copied child %s = %s, want %s", p.String(), got, want)
		}
		// The child's blobs are there: its config reads.
		if r := w.api.get(t, "/api/v1/repos/dst/mirror/app/-/config/v1?platform="+p.String()); r.Status != http.StatusOK {
			t.Errorf("config of copied child %s = %d, want 200", p.String(), r.Status)
		}
	}
	if tags, _ := w.api.tagsOf(t, "dst", "mirror/app"); !slices.Equal(tags, []string{"old", "v1"}) {
		t.Errorf("tags right after the copy = %v, want [old v1] (the cached list dropped)", tags)
	}

	// Again, by digest, to another tag: every blob is there already.
	uploads := w.dst.CountRequests(http.MethodPost, "/v2/mirror/app/blobs/uploads")
	copyTo(copyRequest{Source: "src/multi/app@" + must(idx.Digest()).String(), Destination: "dst/mirror/app:v1-again"})
	if n := w.dst.CountRequests(http.MethodPost, "/v2/mirror/app/blobs/uploads") - uploads; n != 0 {
		t.Errorf("second copy started %d blob uploads, want 0", n)
	}

	// One platform: the destination tag is that child.
	arm := indexPlatforms[1]
	if got, want := copyTo(copyRequest{Source: "src/multi/app:v1", Destination: "dst/mirror/app:arm", Platform: arm.String()}), childOf(t, idx, arm).Digest.String(); got != want {
		t.Errorf("copy of %s = %s, want the child %s", arm.String(), got, want)
	}
	if got, want := w.api.digestOf(t, "dst", "mirror/app", "arm", ""), childOf(t, idx, arm).Digest.String(); got != want {
		t.Errorf("digest of arm = %s, want %s", got, want)
	}
}

// TestCopyRejects: bad requests are answered before anything goes upstream.
func TestCopyRejects(t *testing.T) {
	w := newWriteWorld(t, writeOptions{})
	registrytest.PushRandomImage(t, w.src.Host, "library/alpine", "v1")
	digest := "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		// upstream says whether the request may reach a registry.
		upstream bool
	}{
		{"empty body", ``, 400, "BODY_INVALID", false},
		{"not json", `source=x`, 400, "BODY_INVALID", false},
		{"unknown field", `{"source":"src/library/alpine:v1","destination":"dst/x:v1","force":true}`, 400, "BODY_INVALID", false},
		{"two objects", `{"source":"src/library/alpine:v1","destination":"dst/x:v1"}{}`, 400, "BODY_INVALID", false},
		{"no registry", `{"source":"alpine:v1","destination":"dst/x:v1"}`, 400, "NAME_INVALID", false},
		{"bad repository", `{"source":"src/Library/alpine:v1","destination":"dst/x:v1"}`, 400, "NAME_INVALID", false},
		{"source without reference", `{"source":"src/library/alpine","destination":"dst/x:v1"}`, 400, "REFERENCE_INVALID", false},
		{"destination without tag", `{"source":"src/library/alpine:v1","destination":"dst/x"}`, 400, "REFERENCE_INVALID", false},
		{"destination digest", `{"source":"src/library/alpine:v1","destination":"dst/x@` + digest + `"}`, 400, "REFERENCE_INVALID", false},
		{"bad digest", `{"source":"src/library/alpine@sha256:abc","destination":"dst/x:v1"}`, 400, "DIGEST_INVALID", false},
		{"bad platform", `{"source":"src/library/alpine:v1","destination":"dst/x:v1","platform":"linux"}`, 400, "PLATFORM_INVALID", false},
		{"unknown registry", `{"source":"nope/library/alpine:v1","destination":"dst/x:v1"}`, 404, "REGISTRY_UNKNOWN", false},
		{"unknown tag", `{"source":"src/library/alpine:v9","destination":"dst/x:v1"}`, 404, "MANIFEST_UNKNOWN", true},
		{"unknown repository", `{"source":"src/library/nope:v1","destination":"dst/x:v1"}`, 404, "MANIFEST_UNKNOWN", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(w.src.Requests()) + len(w.dst.Requests())
			w.api.send(t, http.MethodPost, "/api/v1/copy", "application/json", strings.NewReader(tt.body)).problem(t, tt.status, tt.code)
			if n := len(w.src.Requests()) + len(w.dst.Requests()) - before; !tt.upstream && n != 0 {
				t.Errorf("%d upstream requests, want 0", n)
			}
			if n := writesTo(w.dst); n != 0 {
				t.Errorf("the destination saw %d write requests, want 0", n)
			}
		})
	}
}
