package handlers

import (
	"crypto/rand"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/extract"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

func TestFiles(t *testing.T) {
	a := newReadsAPI(t, Reads{MaxFileSize: 1024})
	const (
		osr    = "ID=regapi\nPLATFORM=linux/amd64\n"
		passwd = "root:x:0:0:root:/root:/bin/sh\n"
		text   = "text/plain; charset=utf-8"
	)
	tests := []struct {
		path     string
		status   int
		code     string // of a problem
		body     string
		ctype    string
		resolved string
	}{
		{path: "etc/os-release", status: 200, body: osr, ctype: text, resolved: "/etc/os-release"},
		{path: "osr", status: 200, body: osr, ctype: text, resolved: "/etc/os-release"},                // relative symlink
		{path: "etclink/os-release", status: 200, body: osr, ctype: text, resolved: "/etc/os-release"}, // symlink to a directory on the way
		{path: "abs", status: 200, body: passwd, ctype: text, resolved: "/etc/passwd"},                 // absolute symlink, from the image root
		{path: "hard", status: 200, body: passwd, ctype: text, resolved: "/etc/passwd"},                // hard link
		{path: "bin/tool", status: 200, body: "\x7fELF\x02\x01\x01\x00binary", ctype: "application/octet-stream", resolved: "/bin/tool"},
		{path: "index.html", status: 200, body: "<!DOCTYPE html><html><body>hi</body></html>", ctype: "text/html; charset=utf-8", resolved: "/index.html"},
		{path: "top.txt", status: 200, body: "from the top layer\n", ctype: text, resolved: "/top.txt"},
		{path: "dir/y", status: 200, body: "y", ctype: text, resolved: "/dir/y"},
		{path: "etc/a", status: 404, code: "FILE_UNKNOWN"},           // whited out
		{path: "dir/x", status: 404, code: "FILE_UNKNOWN"},           // below an opaque directory
		{path: "escape", status: 404, code: "FILE_UNKNOWN"},          // a link leaving the root is dropped
		{path: "dangling", status: 404, code: "FILE_UNKNOWN"},        // leads nowhere
		{path: "loop", status: 404, code: "FILE_UNKNOWN"},            // too many links
		{path: "etc/fifo", status: 404, code: "FILE_UNKNOWN"},        // no content to serve
		{path: "etc/passwd/x", status: 404, code: "FILE_UNKNOWN"},    // below a file
		{path: "etc/os-release/", status: 404, code: "FILE_UNKNOWN"}, // a file named as a directory
		{path: "osr/", status: 404, code: "FILE_UNKNOWN"},            // a link to a file, named as a directory
		{path: "nope", status: 404, code: "FILE_UNKNOWN"},
		{path: "big", status: 413, code: "FILE_TOO_LARGE"}, // 4 KiB over a 1 KiB cap
		{path: "etc/%2e%2e/etc/passwd", status: 400, code: "PATH_INVALID"},
		{path: "%2e%2e/%2e%2e/etc/passwd", status: 400, code: "PATH_INVALID"},
		{path: "etc//passwd", status: 400, code: "PATH_INVALID"},
		{path: "etc/./passwd", status: 400, code: "PATH_INVALID"},
		{path: "etc/pass%00wd", status: 400, code: "PATH_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			before := a.g.totalGets()
			res := a.get(t, "/api/v1/repos/g/reads/img/-/files/v1/"+tt.path)
			if tt.code != "" {
				res.problem(t, tt.status, tt.code)
				if tt.status == 400 && a.g.totalGets() != before {
					t.Errorf("files/%s read layers before refusing the path", tt.path)
				}
				return
			}
			if res.Status != tt.status || string(res.Body) != tt.body {
				t.Fatalf("files/%s = %d %q, want %d %q", tt.path, res.Status, res.Body, tt.status, tt.body)
			}
			h := res.Header
			if h.Get("Content-Type") != tt.ctype || h.Get("Content-Length") != strconv.Itoa(len(tt.body)) ||
				h.Get(resolvedPathHeader) != tt.resolved || h.Get(platformHeader) != "linux/amd64" {
				t.Errorf("files/%s headers Content-Type %q Content-Length %q %s %q %s %q; want %q, %d, %q, linux/amd64",
					tt.path, h.Get("Content-Type"), h.Get("Content-Length"), resolvedPathHeader, h.Get(resolvedPathHeader),
					platformHeader, h.Get(platformHeader), tt.ctype, len(tt.body), tt.resolved)
			}
			if h.Get("ETag") == "" || h.Get("Cache-Control") != cacheControlShort || h.Get("Content-Security-Policy") != "sandbox" {
				t.Errorf("files/%s ETag %q Cache-Control %q CSP %q", tt.path, h.Get("ETag"), h.Get("Cache-Control"), h.Get("Content-Security-Policy"))
			}
		})
	}
}

func TestFilesDirectories(t *testing.T) {
	a := newReadsAPI(t, Reads{})
	base := "/api/v1/repos/g/reads/img/-/files/v1/"
	names := func(es []extract.DirEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Name)
		}
		return out
	}
	tests := []struct {
		path, resolved string
		want           []extract.DirEntry // nil: compare names only
		names          []string
	}{
		{path: "etc", resolved: "/etc", want: []extract.DirEntry{
			{Name: "fifo", Type: "fifo", Mode: 0o600},
			{Name: "os-release", Type: "file", Size: int64(len("ID=regapi\nPLATFORM=linux/amd64\n")), Mode: 0o644},
			{Name: "passwd", Type: "file", Size: int64(len("root:x:0:0:root:/root:/bin/sh\n")), Mode: 0o644},
		}},
		{path: "etclink/", resolved: "/etc", names: []string{"fifo", "os-release", "passwd"}},
		{path: "dir/", resolved: "/dir", want: []extract.DirEntry{{Name: "y", Type: "file", Size: 1, Mode: 0o644}}},
		{path: "", resolved: "/", names: []string{"abs", "big", "bin", "dangling", "dir", "etc", "etclink", "hard", "index.html", "loop", "osr", "top.txt", "version.json"}},
	}
	for _, tt := range tests {
		res := a.get(t, base+tt.path)
		if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "application/json" || res.Header.Get(resolvedPathHeader) != tt.resolved {
			t.Fatalf("files/%s = %d %s %s %q, want 200 application/json %s", tt.path, res.Status,
				res.Header.Get("Content-Type"), resolvedPathHeader, res.Header.Get(resolvedPathHeader), tt.resolved)
		}
		var got filesResponse
		res.json(t, &got)
		if tt.want != nil {
			if diff := cmp.Diff(tt.want, got.Entries); diff != "" {
				t.Errorf("files/%s entries mismatch (-want +got):\n%s", tt.path, diff)
			}
		} else if diff := cmp.Diff(tt.names, names(got.Entries)); diff != "" {
			t.Errorf("files/%s names mismatch (-want +got):\n%s", tt.path, diff)
		}
	}
	// The links keep their targets in a listing.
	var root filesResponse
	a.get(t, base).json(t, &root)
	for _, e := range root.Entries {
		if e.Name == "osr" && (e.Type != "symlink" || e.LinkTarget != "etc/os-release") {
			t.Errorf("root entry osr = %+v, want a symlink to etc/os-release", e)
		}
	}
}

func TestFilesPlatformsAndRevalidation(t *testing.T) {
	a := newReadsAPI(t, Reads{})
	path := "/api/v1/repos/g/reads/img/-/files/v1/etc/os-release"
	arm := a.get(t, path+"?platform=linux/arm64")
	if arm.Status != 200 || string(arm.Body) != "ID=regapi\nPLATFORM=linux/arm64/v8\n" || arm.Header.Get(platformHeader) != "linux/arm64/v8" {
		t.Errorf("files?platform=linux/arm64 = %d %q %s %q", arm.Status, arm.Body, platformHeader, arm.Header.Get(platformHeader))
	}
	amd := a.get(t, path)
	if amd.Header.Get("ETag") == arm.Header.Get("ETag") {
		t.Errorf("both platforms have ETag %s", amd.Header.Get("ETag"))
	}
	other := a.get(t, "/api/v1/repos/g/reads/img/-/files/v1/etc/passwd")
	if other.Header.Get("ETag") == amd.Header.Get("ETag") {
		t.Errorf("two paths have ETag %s", amd.Header.Get("ETag"))
	}
	a.g.resetGets()
	res := a.do(t, http.MethodGet, path, http.Header{"If-None-Match": {amd.Header.Get("ETag")}})
	if res.Status != http.StatusNotModified || a.g.totalGets() != 0 {
		t.Errorf("If-None-Match = %d with %d blob GETs, want 304 and none", res.Status, a.g.totalGets())
	}
}

// TestFilesReadsOnlyWhatItNeeds counts blob GETs at the registry. The
// first request for an image walks every layer once to build its file
// index, then reads its file's layer; from then on a file reads its own
// layer alone, and listings, stats, 404s and links read none.
func TestFilesReadsOnlyWhatItNeeds(t *testing.T) {
	a := newReadsAPI(t, Reads{})
	base, middle, top := must(a.single[0].Digest()), must(a.single[1].Digest()), must(a.single[2].Digest())
	tests := []struct {
		path   string
		status int
		counts [3]int // GETs of base, middle, top
	}{
		{"top.txt", 200, [3]int{1, 1, 2}}, // the index, then the file
		{"version.json", 200, [3]int{0, 0, 1}},
		{"dir/y", 200, [3]int{0, 1, 0}},
		{"etc/os-release", 200, [3]int{1, 0, 0}},
		{"osr", 200, [3]int{1, 0, 0}}, // the link costs nothing, the file its layer
		{"etc", 200, [3]int{0, 0, 0}},
		{"etclink", 200, [3]int{0, 0, 0}},
		{"", 200, [3]int{0, 0, 0}},
		{"etc/a", 404, [3]int{0, 0, 0}},
		{"dir/x", 404, [3]int{0, 0, 0}},
		{"nothing/here", 404, [3]int{0, 0, 0}},
		{"loop", 404, [3]int{0, 0, 0}},
	}
	for _, tt := range tests {
		a.g.resetGets()
		res := a.get(t, "/api/v1/repos/g/reads/single/-/files/v1/"+tt.path)
		if res.Status != tt.status {
			t.Fatalf("files/%s = %d %s, want %d", tt.path, res.Status, res.Body, tt.status)
		}
		got := [3]int{a.g.blobGets(base), a.g.blobGets(middle), a.g.blobGets(top)}
		if got != tt.counts {
			t.Errorf("files/%s blob GETs (base, middle, top) = %v, want %v", tt.path, got, tt.counts)
		}
	}
}

// TestFilesLayerLimits: content regapi refuses to unpack is the image's
// fault, answered 422 before a byte of it is sent.
func TestFilesLayerLimits(t *testing.T) {
	g := registrytest.StartGGCR(t, false)
	p := readsPlatforms[0]
	junk := make([]byte, 4096)
	rand.Read(junk)
	registrytest.Push(t, g.Host+"/limits/bomb:v1", imageOf(t, p, zstdBomb(t, 64<<20), gzipLayer(t, fxFile("small", "s"))))
	registrytest.Push(t, g.Host+"/limits/junk:v1", imageOf(t, p, static.NewLayer(junk, types.OCIUncompressedLayer)))
	a := newAPI(t, Config{Upstreams: []Upstream{{Name: "g", Host: g.Host, Client: clientFor(g.Host, nil)}}})

	for _, path := range []string{
		"/api/v1/repos/g/limits/bomb/-/files/v1/missing", // read through the bomb to know
		"/api/v1/repos/g/limits/junk/-/files/v1/x",
		"/api/v1/repos/g/limits/junk/-/extract/v1",
	} {
		a.get(t, path).problem(t, http.StatusUnprocessableEntity, "LAYER_UNPROCESSABLE")
	}
	// What the top layer answers needs nothing from the bomb.
	if res := a.get(t, "/api/v1/repos/g/limits/bomb/-/files/v1/small"); res.Status != 200 || string(res.Body) != "s" {
		t.Errorf("files/small = %d %q, want 200 s", res.Status, res.Body)
	}
}
