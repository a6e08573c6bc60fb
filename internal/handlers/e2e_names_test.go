package handlers

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/bombtest"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// namesHeapBound is what one request may add to the heap, server and
// client together, while regapi reads the long-names layers: a reader
// without a bound on names keeps 300 MiB and more.
const namesHeapBound = 64 << 20

// longNamesLayer is the long-names attack (bombtest.LongNames), scaled to
// 300 entries: names of 1 MB, 300 MB in all, in a gzip layer of about
// 370 KB, under the decompression ratio guard.
func longNamesLayer(t *testing.T) []byte {
	return bombtest.LongNames(t, 300, tar.TypeReg, "path", 1_000_000, true)
}

// TestReadsRefuseLongNames pushes the layer to a registry and reads it
// through extract and files: 422 LAYER_UNPROCESSABLE before a byte of the
// answer, with the heap bounded. Below a healthy top layer the extract
// stream has begun when the name comes, and is cut.
func TestReadsRefuseLongNames(t *testing.T) {
	g := registrytest.StartGGCR(t, false)
	p := readsPlatforms[0]
	attack := static.NewLayer(longNamesLayer(t), types.DockerLayer) // diff_id unchecked: nothing reads it
	big := make([]byte, 1<<20)
	rand.Read(big)
	registrytest.Push(t, g.Host+"/names/attack:v1", imageOf(t, p, attack))
	registrytest.Push(t, g.Host+"/names/below:v1", imageOf(t, p, attack, gzipLayer(t, fxFile("big.bin", string(big)))))
	a := newAPI(t, Config{Upstreams: []Upstream{{Name: "g", Host: g.Host, Client: clientFor(g.Host, nil)}}})

	for _, path := range []string{
		"/api/v1/repos/g/names/attack/-/extract/v1",
		"/api/v1/repos/g/names/attack/-/files/v1/",        // the root's listing keeps its children's names
		"/api/v1/repos/g/names/attack/-/files/v1/missing", // reads every name to know
		"/api/v1/repos/g/names/below/-/files/v1/",
	} {
		peak, _ := bombtest.PeakHeap(func() error {
			a.get(t, path).problem(t, http.StatusUnprocessableEntity, "LAYER_UNPROCESSABLE")
			return nil
		})
		if peak > namesHeapBound {
			t.Errorf("GET %s: peak heap growth %d MiB, want at most %d MiB", path, peak>>20, namesHeapBound>>20)
		}
	}

	var n int64
	var readErr error
	peak, _ := bombtest.PeakHeap(func() error {
		res := getCtx(t, context.Background(), a.c, a.URL+"/api/v1/repos/g/names/below/-/extract/v1")
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("extract below a healthy layer = %s, want 200 until the long name", res.Status)
		}
		n, readErr = io.Copy(io.Discard, res.Body)
		return nil
	})
	if readErr == nil || errors.Is(readErr, io.EOF) || n < int64(len(big)) {
		t.Errorf("extract body: %d bytes, err %v; want the top layer, then a broken transfer", n, readErr)
	}
	if peak > namesHeapBound {
		t.Errorf("extract below a healthy layer: peak heap growth %d MiB, want at most %d MiB", peak>>20, namesHeapBound>>20)
	}
}

// TestUploadRefusesLongNames sends the same tar as an image upload: 400
// TARBALL_INVALID once the first header is read, with the heap bounded,
// nothing written upstream and nothing left in the spool.
func TestUploadRefusesLongNames(t *testing.T) {
	w := newWriteWorld(t, writeOptions{})
	body := longNamesLayer(t)
	before := writesTo(w.dst)
	peak, _ := bombtest.PeakHeap(func() error {
		res := w.api.send(t, http.MethodPut, "/api/v1/repos/dst/team/app/-/images/names", "application/x-tar", bytes.NewReader(body))
		p := res.problem(t, http.StatusBadRequest, "TARBALL_INVALID")
		if want := "more than 4096"; !strings.Contains(p.Detail, want) {
			t.Errorf("detail = %q, want it to mention %q", p.Detail, want)
		}
		return nil
	})
	if peak > namesHeapBound {
		t.Errorf("upload: peak heap growth %d MiB, want at most %d MiB", peak>>20, namesHeapBound>>20)
	}
	if n := writesTo(w.dst) - before; n != 0 {
		t.Errorf("the registry saw %d write requests, want 0", n)
	}
	w.assertSpoolEmpty(t)
}
