package handlers

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/extract"
	"github.com/regapi/regapi/internal/layercache"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// randomLayers builds an image whose names collide often (a small
// alphabet, a shallow tree), so that shadowing, whiteouts, opaque
// directories and links interact, and returns the paths worth asking it.
func randomLayers(t testing.TB, r *rand.Rand) ([]v1.Layer, []string) {
	t.Helper()
	parts := []string{"a", "b", "etc"}
	name := func() string {
		var p []string
		for range 1 + r.IntN(3) {
			p = append(p, parts[r.IntN(len(parts))])
		}
		return strings.Join(p, "/")
	}
	probes := map[string]bool{"": true, "zz": true, "a/zz": true}
	probe := func(n string) {
		for c := path.Clean(n); c != "." && c != "/"; c = path.Dir(c) {
			probes[strings.TrimPrefix(c, "/")] = true
		}
	}
	var layers []v1.Layer
	for range 1 + r.IntN(4) {
		var es []fxEntry
		for range r.IntN(25) {
			n := name()
			d, b := path.Split(n)
			probe(n)
			probe(n + "/a")
			switch k := r.IntN(20); {
			case k < 7:
				es = append(es, fxFile(n, strings.Repeat(string("abcdefghijklmnopqrstuvwxyz"[r.IntN(26)]), r.IntN(3000))))
			case k < 11:
				es = append(es, fxDir(n+"/"))
			case k < 13:
				to := []string{name(), "/" + name(), "../" + name(), "."}[r.IntN(4)]
				es = append(es, fxSymlink(n, to))
				probe(path.Join(d, to))
			case k < 14:
				es = append(es, fxEntry{name: n, typ: tar.TypeLink, link: name(), mode: 0o644})
			case k < 17:
				es = append(es, fxFile(d+".wh."+b, ""))
			case k < 18:
				es = append(es, fxFile(d+".wh..wh..opq", ""))
			default:
				es = append(es, fxEntry{name: n, typ: tar.TypeFifo, mode: 0o600})
			}
		}
		layers = append(layers, gzipLayer(t, es...))
	}
	var out []string
	for p := range probes {
		out = append(out, p)
	}
	sort.Strings(out)
	return layers, out
}

// newLayerCache is a layer cache in a temporary directory, filled as
// regapi fills it.
func newLayerCache(t testing.TB, dir string, opts ...layercache.Option) *layercache.Cache {
	t.Helper()
	opener := layercache.WithOpener(func(ctx context.Context, l v1.Layer) (io.ReadCloser, error) {
		return extract.OpenPlain(ctx, l)
	})
	c, err := layercache.New(dir, 1<<30, append([]layercache.Option{opener}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sameAnswer fails unless two answers to one request are the same for a
// client: status, problem code, body and the headers that describe it.
func sameAnswer(t *testing.T, label string, want, got response) {
	t.Helper()
	if want.Status != got.Status {
		t.Errorf("%s: status %d, want %d (%s)", label, got.Status, want.Status, got.Body)
		return
	}
	for _, h := range []string{"Content-Type", "Content-Length", resolvedPathHeader, "ETag"} {
		if want.Header.Get(h) != got.Header.Get(h) {
			t.Errorf("%s: %s = %q, want %q", label, h, got.Header.Get(h), want.Header.Get(h))
		}
	}
	if want.Header.Get("Content-Type") == "application/problem+json" {
		var wp, gp problem
		want.json(t, &wp)
		got.json(t, &gp)
		if wp.Code != gp.Code {
			t.Errorf("%s: problem %s, want %s", label, gp.Code, wp.Code)
		}
		return
	}
	if !bytes.Equal(want.Body, got.Body) {
		t.Errorf("%s: body differs (-want +got):\n%s", label, cmp.Diff(string(want.Body), string(got.Body)))
	}
}

// TestReadsSameWithIndexAndLayerCache: over random images with
// whiteouts, opaque directories, hard and symbolic links, the files and
// extract routes answer the same with the file index and the layer cache
// on and off, the first time (which builds and fills) and again (which
// reads the index and the disk).
func TestReadsSameWithIndexAndLayerCache(t *testing.T) {
	g := startGated(t)
	const images = 16
	probes := make([][]string, images)
	for i := range images {
		r := rand.New(rand.NewPCG(uint64(i), 16))
		var layers []v1.Layer
		layers, probes[i] = randomLayers(t, r)
		registrytest.Push(t, fmt.Sprintf("%s/rand/img%d:v1", g.Host, i), imageOf(t, readsPlatforms[0], layers...))
	}
	api := func(reads Reads) *apiEnv {
		return newAPI(t, Config{
			Upstreams: []Upstream{{Name: "g", Host: g.Host, Client: clientFor(g.Host, nil)}},
			Logger:    slog.New(slog.DiscardHandler),
			Reads:     reads,
		})
	}
	off := api(Reads{IndexBytes: -1})
	indexed := api(Reads{})
	lc := newLayerCache(t, t.TempDir())
	disk := api(Reads{LayerCache: lc})

	statuses := map[int]int{}
	for i := range images {
		base := fmt.Sprintf("/api/v1/repos/g/rand/img%d/-/", i)
		for round := range 2 {
			for _, p := range probes[i] {
				want := off.get(t, base+"files/v1/"+p)
				statuses[want.Status]++
				for name, a := range map[string]*apiEnv{"index": indexed, "index+disk": disk} {
					sameAnswer(t, fmt.Sprintf("img%d round %d %s files/%s", i, round, name, p), want, a.get(t, base+"files/v1/"+p))
				}
			}
			want := off.get(t, base+"extract/v1")
			for name, a := range map[string]*apiEnv{"index": indexed, "index+disk": disk} {
				sameAnswer(t, fmt.Sprintf("img%d round %d %s extract", i, round, name), want, a.get(t, base+"extract/v1"))
			}
		}
	}
	if n, layers := lc.Bytes(); n == 0 || layers == 0 {
		t.Errorf("the layer cache holds %d layers, %d bytes; the disk API never filled it", layers, n)
	}
	if statuses[http.StatusOK] < 100 || statuses[http.StatusNotFound] < 100 {
		t.Errorf("answers by status %v: want at least 100 of 200 and of 404", statuses)
	}
}
