package handlers

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// readsAPI is regapi in front of a gated registry holding the reads
// fixture: reads/img:v1 (an index of readsPlatforms) and reads/single:v1
// (its linux/amd64 image alone).
type readsAPI struct {
	*apiEnv
	g       *gatedRegistry
	single  []v1.Layer // reads/single:v1's layers, base first
	streams *countingStreams
}

func newReadsAPI(t *testing.T, reads Reads) *readsAPI {
	t.Helper()
	g := startGated(t)
	registrytest.Push(t, g.Host+"/reads/img:v1", readsIndex(t))
	single := readsLayers(t, readsPlatforms[0])
	registrytest.Push(t, g.Host+"/reads/single:v1", imageOf(t, readsPlatforms[0], single...))
	streams := newCountingStreams()
	a := newAPI(t, Config{
		Upstreams: []Upstream{{Name: "g", Host: g.Host, Client: clientFor(g.Host, nil)}},
		Reads:     reads,
		Streams:   streams,
	})
	return &readsAPI{apiEnv: a, g: g, single: single, streams: streams}
}

// craneExport is what `crane export` writes for the platform's image: the
// image pulled from the registry, flattened by mutate.Extract.
func craneExport(t *testing.T, host, repo string, p v1.Platform) []byte {
	t.Helper()
	ref := must(name.ParseReference(host+"/"+repo, name.Insecure))
	img := must(remote.Image(ref, remote.WithPlatform(p)))
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }() // read-only; ReadAll reports read errors
	return must(io.ReadAll(rc))
}

// tarListing describes every entry of a tar stream, contents by hash.
func tarListing(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		sum := sha256.New()
		if _, err := io.Copy(sum, tr); err != nil { //nolint:gosec // G110: the test's own fixture images
			t.Fatalf("read tar entry %s: %v", h.Name, err)
		}
		out = append(out, fmt.Sprintf("%s type=%c link=%q mode=%o size=%d sha=%s",
			h.Name, h.Typeflag, h.Linkname, h.Mode, h.Size, hex.EncodeToString(sum.Sum(nil))[:12]))
	}
}

func TestExtractMatchesCraneExport(t *testing.T) {
	a := newReadsAPI(t, Reads{})
	for _, p := range readsPlatforms {
		t.Run(platformString(p), func(t *testing.T) {
			res := a.get(t, "/api/v1/repos/g/reads/img/-/extract/v1?platform="+platformString(p))
			if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "application/x-tar" {
				t.Fatalf("extract = %d %s, want 200 application/x-tar; %.300s", res.Status, res.Header.Get("Content-Type"), res.Body)
			}
			if got := res.Header.Get(platformHeader); got != platformString(p) {
				t.Errorf("%s = %q, want %q", platformHeader, got, platformString(p))
			}
			if cl := res.Header.Get("Content-Length"); cl != "" {
				t.Errorf("extract sent Content-Length %s, want a chunked stream", cl)
			}
			want := craneExport(t, a.g.Host, "reads/img:v1", p)
			if !bytes.Equal(res.Body, want) {
				t.Errorf("extract differs from crane export (%d vs %d bytes); entries (-crane +regapi):\n%s",
					len(want), len(res.Body), cmp.Diff(tarListing(t, want), tarListing(t, res.Body)))
			}
			// The fixture's traps, seen from the tar: whiteouts applied and
			// not shipped, the escaping link dropped, the others kept.
			listing := strings.Join(tarListing(t, res.Body), "\n")
			for _, absent := range []string{"etc/a ", ".wh.", "dir/x ", "escape "} {
				if strings.Contains(listing, absent) {
					t.Errorf("extract has %q:\n%s", absent, listing)
				}
			}
			for _, present := range []string{`osr type=2 link="etc/os-release"`, `hard type=1 link="etc/passwd"`, "etc/fifo type=6", "dir/y "} {
				if !strings.Contains(listing, present) {
					t.Errorf("extract lacks %q:\n%s", present, listing)
				}
			}
		})
	}
}

func TestExtractSubtree(t *testing.T) {
	a := newReadsAPI(t, Reads{})
	base := "/api/v1/repos/g/reads/single/-/extract/v1"
	full := tarListing(t, craneExport(t, a.g.Host, "reads/single:v1", readsPlatforms[0]))
	under := func(prefix string) []string {
		var out []string
		for _, e := range full {
			if strings.HasPrefix(e, prefix+" ") || strings.HasPrefix(e, prefix+"/") {
				out = append(out, e)
			}
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"?path=/etc", under("etc")},
		{"?path=etc/", under("etc")},
		{"?path=/dir", under("dir")},
		{"?path=/etclink", under("etclink")}, // the link itself, not followed
		{"?path=/", full},
	}
	// A path the image does not have is 404, as on the files route, not an
	// empty tar.
	a.get(t, base+"?path=/nope").problem(t, http.StatusNotFound, "FILE_UNKNOWN")
	etags := map[string]string{}
	for _, tt := range tests {
		res := a.get(t, base+tt.query)
		if res.Status != http.StatusOK {
			t.Fatalf("extract%s = %d %.300s", tt.query, res.Status, res.Body)
		}
		if diff := cmp.Diff(tt.want, tarListing(t, res.Body)); diff != "" {
			t.Errorf("extract%s entries mismatch (-want +got):\n%s", tt.query, diff)
		}
		etags[tt.query] = res.Header.Get("ETag")
	}
	if etags["?path=/etc"] != etags["?path=etc/"] || etags["?path=/etc"] == etags["?path=/dir"] || etags["?path=/etc"] == etags["?path=/"] {
		t.Errorf("ETags %v: want one per subtree, the same for /etc and etc/", etags)
	}

	// A revalidation is answered without reading a layer.
	a.g.resetGets()
	res := a.do(t, http.MethodGet, base+"?path=/etc", http.Header{"If-None-Match": {etags["?path=/etc"]}})
	if res.Status != http.StatusNotModified || a.g.totalGets() != 0 {
		t.Errorf("If-None-Match = %d with %d blob GETs, want 304 and none", res.Status, a.g.totalGets())
	}

	for _, q := range []string{"?path=/etc/%2e%2e/x", "?path=/etc%00", "?path=//etc", "?path=/etc/./x"} {
		before := a.g.totalGets()
		a.get(t, base+q).problem(t, http.StatusBadRequest, "PATH_INVALID")
		if a.g.totalGets() != before {
			t.Errorf("extract%s read layers before refusing the path", q)
		}
	}
}
