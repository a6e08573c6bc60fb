package handlers

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/regapi/regapi/internal/registry/registrytest"
	"github.com/regapi/regapi/internal/transfer/transfertest"
)

// TestUploadFormats pushes each tarball format through the API, then reads
// the tag back through the API and compares digests; the spool directory
// is empty after each upload.
func TestUploadFormats(t *testing.T) {
	w := newWriteWorld(t, writeOptions{})
	img := registrytest.RandomImage(t, 2)
	idx := registrytest.RandomIndex(t, indexPlatforms...)
	docker := transfertest.DockerArchive(t, img)
	// go-containerregistry rebuilds a docker archive's manifest; what
	// `crane push` of the same file would tag is the reference.
	dockerDigest := must(must(tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(docker)), nil }, nil)).Digest())

	tests := []struct {
		name       string
		body       []byte
		format     string
		want       v1.Hash
		platforms  []v1.Platform // for an index: each child is checked
		childrenOf v1.ImageIndex
	}{
		{"docker archive", docker, "docker-archive", dockerDigest, nil, nil},
		{"docker archive gzip", transfertest.Gzip(t, docker), "docker-archive", dockerDigest, nil, nil},
		{"oci layout image", transfertest.OCILayout(t, img), "oci-layout", must(img.Digest()), nil, nil},
		{"oci layout image gzip", transfertest.Gzip(t, transfertest.OCILayout(t, img)), "oci-layout", must(img.Digest()), nil, nil},
		{"oci layout index gzip", transfertest.Gzip(t, transfertest.OCILayout(t, idx)), "oci-layout", must(idx.Digest()), indexPlatforms, idx},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tag := fmt.Sprintf("v%c", 'a'+i)
			res := w.api.put(t, "dst", "team/app", tag, tt.body)
			if res.Status != http.StatusCreated {
				t.Fatalf("PUT = %d, want 201; body %s", res.Status, res.Body)
			}
			var got uploadResponse
			res.json(t, &got)
			if got.Digest != tt.want.String() || got.Format != tt.format || got.Bytes <= 0 {
				t.Errorf("PUT = %+v, want digest %s format %s", got, tt.want, tt.format)
			}
			if loc, want := res.Header.Get("Location"), "/api/v1/repos/dst/team/app/-/manifests/"+tt.want.String(); loc != want {
				t.Errorf("Location = %q, want %q", loc, want)
			}
			if d := w.api.digestOf(t, "dst", "team/app", tag, ""); tt.childrenOf == nil && d != tt.want.String() {
				t.Errorf("GET digest/%s = %s, want %s", tag, d, tt.want)
			}
			// Read the manifest by digest through the API: it is there.
			if r := w.api.get(t, "/api/v1/repos/dst/team/app/-/manifests/"+tt.want.String()+"?raw=true"); r.Status != http.StatusOK {
				t.Errorf("GET manifests/%s = %d, want 200", tt.want, r.Status)
			}
			for _, p := range tt.platforms {
				want := childOf(t, tt.childrenOf, p).Digest.String()
				if d := w.api.digestOf(t, "dst", "team/app", tag, p.String()); d != want {
					t.Errorf("GET digest/%s?platform=%s = %s, want %s", tag, p.String(), d, want)
				}
			}
			w.assertSpoolEmpty(t)
		})
	}
}

// TestUploadInvalidatesCache: a tag list cached before a push shows the new
// tag right after it, and the tag's digest is the new one.
func TestUploadInvalidatesCache(t *testing.T) {
	w := newWriteWorld(t, writeOptions{})
	old := registrytest.PushRandomImage(t, w.dst.Host, "team/app", "latest")
	tags, _ := w.api.tagsOf(t, "dst", "team/app")
	if _, xc := w.api.tagsOf(t, "dst", "team/app"); xc != "HIT" || !slices.Equal(tags, []string{"latest"}) {
		t.Fatalf("tags before the push = %v (X-Cache %s), want [latest] from the cache", tags, xc)
	}
	if d := w.api.digestOf(t, "dst", "team/app", "latest", ""); d != must(old.Digest()).String() {
		t.Fatalf("digest before = %s, want %s", d, must(old.Digest()))
	}

	img := registrytest.RandomImage(t, 1)
	for _, tag := range []string{"v2", "latest"} {
		if res := w.api.put(t, "dst", "team/app", tag, transfertest.OCILayout(t, img)); res.Status != http.StatusCreated {
			t.Fatalf("PUT %s = %d, want 201; body %s", tag, res.Status, res.Body)
		}
	}
	tags, _ = w.api.tagsOf(t, "dst", "team/app")
	if want := []string{"latest", "v2"}; !slices.Equal(tags, want) {
		t.Errorf("tags right after the push = %v, want %v", tags, want)
	}
	if d := w.api.digestOf(t, "dst", "team/app", "latest", ""); d != must(img.Digest()).String() {
		t.Errorf("digest of latest right after the push = %s, want the pushed %s", d, must(img.Digest()))
	}
}

// TestUploadRejects: corrupt and malicious tarballs are 400 TARBALL_INVALID
// with nothing written upstream, oversized ones 413; the spool directory
// is empty after each.
func TestUploadRejects(t *testing.T) {
	const maxBytes = 256 << 10
	w := newWriteWorld(t, writeOptions{Writes: Writes{MaxUploadBytes: maxBytes}})
	img := registrytest.RandomImage(t, 1)
	docker := transfertest.DockerArchive(t, img)
	oci := transfertest.OCILayout(t, img)
	big := must(random.Image(maxBytes+1024, 1)) // random bytes do not compress
	zeros := make([]byte, 4*maxBytes)           // compresses to a few KiB, expands past the cap

	halfGzip := transfertest.Gzip(t, docker)
	halfGzip = halfGzip[:len(halfGzip)/2]
	flippedGzip := transfertest.Gzip(t, docker)
	flippedGzip[len(flippedGzip)/2] ^= 0xff

	tests := []struct {
		name   string
		body   []byte
		status int
		code   string
		detail string // substring of the problem's detail
		// chunked sends the body without a Content-Length, so that the
		// cap is met while reading rather than announced up front.
		chunked bool
	}{
		{"empty body", nil, 400, "TARBALL_INVALID", "", false},
		{"not a tar", []byte(strings.Repeat("not an archive ", 100)), 400, "TARBALL_INVALID", "", false},
		{"truncated gzip", halfGzip, 400, "TARBALL_INVALID", "gzip", false},
		{"corrupt gzip", flippedGzip, 400, "TARBALL_INVALID", "", false},
		{"tar without an image", tarOf(t, tarEntry{name: "hello.txt", body: []byte("hi")}), 400, "TARBALL_INVALID", "", false},
		{"bad manifest.json", retar(t, docker, func(es []tarEntry) []tarEntry {
			es[indexOf(t, es, "manifest.json")].body = []byte("{")
			return es
		}), 400, "TARBALL_INVALID", "manifest.json", false},
		{"dotdot path", retar(t, docker, func(es []tarEntry) []tarEntry {
			return append(es, tarEntry{name: "../evil", body: []byte("x")})
		}), 400, "TARBALL_INVALID", "", false},
		{"absolute symlink", retar(t, oci, func(es []tarEntry) []tarEntry {
			return append(es, tarEntry{name: "x", typ: tar.TypeSymlink, link: "/etc/passwd"})
		}), 400, "TARBALL_INVALID", "", false},
		{"blob digest mismatch", retar(t, oci, func(es []tarEntry) []tarEntry {
			i := largestBlob(es)
			es[i].body = bytes.Clone(es[i].body)
			es[i].body[len(es[i].body)/2] ^= 0xff
			return es
		}), 400, "TARBALL_INVALID", "", false},
		{"missing layer", retar(t, oci, func(es []tarEntry) []tarEntry {
			return slices.Delete(es, largestBlob(es), largestBlob(es)+1)
		}), 400, "TARBALL_INVALID", "", false},
		{"over the cap", transfertest.DockerArchive(t, big), 413, "BODY_TOO_LARGE", "", false},
		{"over the cap, chunked", transfertest.DockerArchive(t, big), 413, "BODY_TOO_LARGE", "", true},
		{"over the cap once decompressed", transfertest.Gzip(t, tarOf(t, tarEntry{name: "zeros", body: zeros})), 413, "BODY_TOO_LARGE", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := writesTo(w.dst)
			var body io.Reader = bytes.NewReader(tt.body)
			if tt.chunked {
				body = struct{ io.Reader }{body} // hides the length
			}
			res := w.api.send(t, http.MethodPut, "/api/v1/repos/dst/team/app/-/images/bad", "application/x-tar", body)
			p := res.problem(t, tt.status, tt.code)
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail = %q, want it to mention %q", p.Detail, tt.detail)
			}
			if n := writesTo(w.dst) - before; n != 0 {
				t.Errorf("the registry saw %d write requests, want 0", n)
			}
			w.assertSpoolEmpty(t)
		})
	}
	if tags := w.dst.CountRequests("", "/v2/team/app/manifests/bad"); tags != 0 {
		t.Errorf("tag bad was touched upstream %d times, want 0", tags)
	}
}

// TestUploadRefusesDigest: an upload is tagged; a digest in the URL is 400
// before the body is read.
func TestUploadRefusesDigest(t *testing.T) {
	w := newWriteWorld(t, writeOptions{})
	res := w.api.put(t, "dst", "team/app", "sha256:"+strings.Repeat("a", 64), transfertest.OCILayout(t, registrytest.RandomImage(t, 1)))
	res.problem(t, http.StatusBadRequest, "REFERENCE_INVALID")
	w.assertSpoolEmpty(t)
}

// TestUploadUnknownRegistry is 404 REGISTRY_UNKNOWN.
func TestUploadUnknownRegistry(t *testing.T) {
	w := newWriteWorld(t, writeOptions{})
	w.api.put(t, "nope", "team/app", "v1", transfertest.OCILayout(t, registrytest.RandomImage(t, 1))).problem(t, http.StatusNotFound, "REGISTRY_UNKNOWN")
	w.assertSpoolEmpty(t)
}

// tarEntry is one entry of a test tar.
type tarEntry struct {
	name string
	typ  byte
	link string
	body []byte
}

// tarOf writes entries as a tar.
func tarOf(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: 0o644}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("tar header %q: %v", e.name, err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatalf("tar body %q: %v", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// retar reads a tar, lets edit change its entries and writes it again.
func retar(t *testing.T, b []byte, edit func([]tarEntry) []tarEntry) []byte {
	t.Helper()
	var entries []tarEntry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		entries = append(entries, tarEntry{name: hdr.Name, typ: hdr.Typeflag, link: hdr.Linkname, body: body})
	}
	return tarOf(t, edit(entries)...)
}

// indexOf finds the entry called name.
func indexOf(t *testing.T, es []tarEntry, name string) int {
	t.Helper()
	for i, e := range es {
		if e.name == name {
			return i
		}
	}
	t.Fatalf("tar has no %s", name)
	return -1
}

// largestBlob is the index of the largest regular entry: a layer.
func largestBlob(es []tarEntry) int {
	best := -1
	for i, e := range es {
		if strings.HasPrefix(e.name, "blobs/") && (best < 0 || len(e.body) > len(es[best].body)) {
			best = i
		}
	}
	return best
}
