package registrytest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// Hostile is an upstream that answers as a hostile registry would, for the
// faults a real registry cannot be made to show: tag and catalog pages
// that never end, names that break the grammar, Link cursors of any
// length, and an image whose manifest declares a config of any size,
// served with a body of any length. Set its knobs before Start; its
// counters say what it served.
//
// Every listed name is "n<page>-<index>" padded with "a" to NameLen, valid
// as a tag and as a repository name, and new on every page; the Link of a
// page names its last name as the cursor, so no cursor repeats. Every
// manifest reference, tag or digest, is the one image manifest.
type Hostile struct {
	// NameLen pads every listed name to that many bytes (at least 17).
	NameLen int
	// PerPage is how many names a page holds.
	PerPage int
	// Pages is how many pages there are; 0 means that every page links to
	// a next one. The last page holds one name less than PerPage, so that
	// a client reading on after a full page without a Link stops there.
	Pages int
	// BadName, when set, is the first name of every page.
	BadName string
	// CursorLen pads the Link cursor to that many bytes.
	CursorLen int
	// ConfigSize is the config size the manifest declares.
	ConfigSize int64
	// ConfigBody is how many bytes the config blob's body has; negative
	// means endless.
	ConfigBody int64
	// ConfigData, when set, is embedded in the manifest's config
	// descriptor ("data") and is what its digest hashes.
	ConfigData []byte

	// ListPages counts the listing pages served, ListBytes their bytes.
	ListPages, ListBytes atomic.Int64
	// BlobGets counts the blob requests, BlobBytes the blob bytes written
	// (which the client may not have read: the kernel buffers some).
	BlobGets, BlobBytes atomic.Int64
}

// Start serves h on loopback until the test ends and returns its host.
func (h *Hostile) Start(t testing.TB) string {
	t.Helper()
	r := &Registry{}
	r.serve(t, h, false)
	return r.Host
}

// Manifest returns the image manifest h serves, and its digest.
func (h *Hostile) Manifest() ([]byte, string) {
	digest := "sha256:" + strings.Repeat("c", 64)
	if h.ConfigData != nil {
		sum := sha256.Sum256(h.ConfigData)
		digest = "sha256:" + hex.EncodeToString(sum[:])
	}
	cfg := map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "size": h.ConfigSize, "digest": digest}
	if h.ConfigData != nil {
		cfg["data"] = h.ConfigData
	}
	m, _ := json.Marshal(map[string]any{ // a map of strings, numbers and bytes: it marshals
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        cfg,
		"layers":        []any{},
	})
	sum := sha256.Sum256(m)
	return m, "sha256:" + hex.EncodeToString(sum[:])
}

// ServeHTTP answers the ping, tags/list and _catalog, manifests and blobs.
func (h *Hostile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/v2/":
	case strings.HasSuffix(p, "/tags/list"):
		h.page(w, r, "tags")
	case p == "/v2/_catalog":
		h.page(w, r, "repositories")
	case strings.Contains(p, "/manifests/"):
		m, digest := h.Manifest()
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Docker-Content-Digest", digest)
		w.Header().Set("Content-Length", fmt.Sprint(len(m)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(m) // a client that went away is what some tests are about
		}
	case strings.Contains(p, "/blobs/"):
		h.BlobGets.Add(1)
		h.blob(w, r)
	default:
		http.NotFound(w, r)
	}
}

// page writes one listing page under key, with a Link to the next unless
// it is the last.
func (h *Hostile) page(w http.ResponseWriter, r *http.Request, key string) {
	n := h.ListPages.Add(1)
	last := h.Pages > 0 && n >= int64(h.Pages)
	count := h.PerPage
	if last {
		count = max(0, count-1)
	}
	names := make([]string, count)
	for i := range names {
		s := fmt.Sprintf("n%09d-%06d", n, i)
		names[i] = s + strings.Repeat("a", max(0, h.NameLen-len(s)))
	}
	if h.BadName != "" && len(names) > 0 {
		names[0] = h.BadName
	}
	if !last {
		cursor := fmt.Sprintf("n%09d", n)
		cursor += strings.Repeat("c", max(0, h.CursorLen-len(cursor)))
		w.Header().Set("Link", fmt.Sprintf(`<%s?n=1000&last=%s>; rel="next"`, r.URL.Path, cursor))
	}
	b, _ := json.Marshal(map[string]any{"name": "app", key: names}) // strings only: it marshals
	w.Header().Set("Content-Type", "application/json")
	k, _ := w.Write(b)
	h.ListBytes.Add(int64(k))
}

// blob writes ConfigBody bytes of spaces, or spaces until the client goes.
func (h *Hostile) blob(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	chunk := []byte(strings.Repeat(" ", 32<<10))
	for left := h.ConfigBody; h.ConfigBody < 0 || left > 0; {
		b := chunk
		if h.ConfigBody >= 0 && left < int64(len(b)) {
			b = b[:left]
		}
		k, err := w.Write(b)
		h.BlobBytes.Add(int64(k))
		left -= int64(k)
		if err != nil || r.Context().Err() != nil {
			return
		}
	}
}
