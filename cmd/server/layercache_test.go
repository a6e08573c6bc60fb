package main

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// lcImage is four layers of known files; the bottom one holds a file of
// random bytes, so that its layer does not compress away.
func lcImage(t *testing.T) (v1.Image, []byte) {
	t.Helper()
	big := make([]byte, 256<<10)
	rand.Read(big)
	files := []map[string][]byte{
		{"etc/os-release": []byte("ID=bottom\n"), "data/big": big, "etc/gone": []byte("g")},
		{"etc/.wh.gone": nil, "opt/app/readme": []byte("readme")},
		{"usr/lib/libx.so": []byte("\x7fELF")},
		{"version.json": []byte(`{"v":1}`)},
	}
	img := empty.Image
	for _, f := range files {
		l, err := crane.Layer(f)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	return img, big
}

// lcRequest is one files or extract request and what it must answer.
type lcRequest struct {
	path   string
	status int
	body   []byte // nil: not checked
}

// TestRunLayerCache: with --layer-cache-dir, the second listing, stat, 404,
// file read and extract of an image make no blob request; a regapi
// restarted on the warm directory serves them without blob requests too;
// a layer file damaged on disk is detected, removed and fetched again.
func TestRunLayerCache(t *testing.T) {
	reg := registrytest.StartDistribution(t, nil)
	img, big := lcImage(t)
	registrytest.Push(t, reg.Host+"/lc/img:v1", img)
	dir := t.TempDir()
	args := []string{"--listen", "127.0.0.1:0", "--upstream", "r=http://" + reg.Host, "--allow-anonymous",
		"--layer-cache-dir", dir, "--layer-cache-max-bytes", "64MiB"}
	c := &http.Client{Timeout: 30 * time.Second}
	reqs := []lcRequest{
		{"files/v1/", 200, nil},
		{"files/v1/etc", 200, nil},
		{"files/v1/etc/os-release", 200, []byte("ID=bottom\n")},
		{"files/v1/etc/gone", 404, nil},
		{"files/v1/nothing/here", 404, nil},
		{"files/v1/data/big", 200, big},
		{"extract/v1", 200, nil},
	}
	blobGets := func() int { return reg.CountRequests(http.MethodGet, "/v2/lc/img/blobs/") }
	answers := map[string][]byte{}
	round := func(r *running, label string) {
		t.Helper()
		for _, q := range reqs {
			status, body, _ := get(t, c, http.MethodGet, r.base+"/api/v1/repos/r/lc/img/-/"+q.path)
			if status != q.status || (q.body != nil && !bytes.Equal(body, q.body)) {
				t.Errorf("%s: %s = %d (%d bytes), want %d (%d bytes)", label, q.path, status, len(body), q.status, len(q.body))
			}
			if prev, ok := answers[q.path]; ok && !bytes.Equal(prev, body) {
				t.Errorf("%s: %s answered other bytes than before", label, q.path)
			}
			answers[q.path] = body
		}
	}

	a := startRun(t, nil, args...)
	round(a, "first")
	if blobGets() == 0 {
		t.Fatal("the first round made no blob request; the counts prove nothing")
	}
	reg.ResetRequests()
	round(a, "second")
	if n := blobGets(); n != 0 {
		t.Errorf("second round: %d blob GETs, want 0: %v", n, reg.Requests())
	}
	if _, err := a.stop(t, 30*time.Second); err != nil {
		t.Fatalf("run() = %v", err)
	}

	// A restart on the warm directory: the index is built again, from
	// the disk.
	reg.ResetRequests()
	b := startRun(t, nil, args...)
	round(b, "after a restart")
	if n := blobGets(); n != 0 {
		t.Errorf("after a restart: %d blob GETs, want 0: %v", n, reg.Requests())
	}
	if _, err := b.stop(t, 30*time.Second); err != nil {
		t.Fatalf("run() = %v", err)
	}

	// Damage every kept layer: each is hashed on its first use by a new
	// process, removed, and fetched again.
	kept, err := filepath.Glob(filepath.Join(dir, "blobs", "sha256", "*"))
	if err != nil || len(kept) != 4 {
		t.Fatalf("the cache keeps %d layer files (%v), want 4", len(kept), err)
	}
	for _, f := range kept {
		if err := os.WriteFile(f, bytes.Repeat([]byte{0}, 1024), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	reg.ResetRequests()
	cr := startRun(t, nil, args...)
	round(cr, "after damage")
	if n := blobGets(); n < 4 {
		t.Errorf("after damage: %d blob GETs, want every layer fetched again", n)
	}
	_, metrics, _ := get(t, c, http.MethodGet, cr.base+"/metrics")
	if !strings.Contains(string(metrics), "regapi_layer_cache_corrupt_total 4") {
		t.Errorf("metrics lack regapi_layer_cache_corrupt_total 4:\n%s", grepLines(string(metrics), "regapi_layer_cache_"))
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
