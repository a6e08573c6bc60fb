package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// blobCounter wraps a registry, counting blob GETs per digest and optionally
// serving other bytes for one blob (a fault a real registry cannot be made
// to show).
type blobCounter struct {
	next http.Handler
	mu   sync.Mutex
	gets map[string]int
	swap string // digest whose body is replaced
	with []byte
}

func (c *blobCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if i := strings.Index(r.URL.Path, "/blobs/sha256:"); i >= 0 && r.Method == http.MethodGet {
		d := r.URL.Path[i+len("/blobs/"):]
		c.mu.Lock()
		c.gets[d]++
		swap := d == c.swap
		c.mu.Unlock()
		if swap {
			w.Write(c.with)
			return
		}
	}
	c.next.ServeHTTP(w, r)
}

func (c *blobCounter) count(d v1.Hash) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets[d.String()]
}

// pushImage serves an in-process registry holding an image of specs and
// returns the image as read back through the registry.
func pushImage(t *testing.T, specs []layerSpec) (v1.Image, *blobCounter) {
	t.Helper()
	layers, _ := build(t, specs, nil)
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return pushed(t, img)
}

// pushed serves img from an in-process registry and returns it as pulled
// back through the registry.
func pushed(t testing.TB, img v1.Image) (v1.Image, *blobCounter) {
	t.Helper()
	c := &blobCounter{next: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))), gets: map[string]int{}}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://")+"/test/image:latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push: %v", err)
	}
	got, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	return got, c
}

func TestFlattenRemoteMatchesMutateExtract(t *testing.T) {
	specs := append([]layerSpec{}, lookupImage...)
	for i := range 3 {
		specs = append(specs, layerSpec{file(fmt.Sprintf("big%d", i), strings.Repeat(fmt.Sprint(i), 300<<10))})
	}
	img, _ := pushImage(t, specs)
	rc := mutate.Extract(img)
	want, err := io.ReadAll(rc)
	mustClose(t, rc)
	if err != nil {
		t.Fatalf("mutate.Extract: %v", err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := Flatten(context.Background(), &got, layers); err != nil {
		t.Fatalf("Flatten() = %v", err)
	}
	assertSameTar(t, got.Bytes(), want)
}

func TestFlattenRemoteVerifiesDigest(t *testing.T) {
	img, c := pushImage(t, []layerSpec{{file("base", "b")}, {file("top", strings.Repeat("t", 1<<20))}})
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	// A well-formed layer of the same size, so that only the digest check
	// can notice.
	d, _ := layers[0].Digest()
	size, _ := layers[0].Size()
	for i := 0; ; i++ {
		b := gzipBytes(t, tarBytes(t, file("base", fmt.Sprint(i))))
		if int64(len(b)) == size {
			c.swap, c.with = d.String(), b
			break
		}
	}
	if err := Flatten(context.Background(), io.Discard, layers); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("Flatten() of a swapped blob = %v, want a digest error", err)
	}
	rc := mutate.Extract(img)
	_, err = io.ReadAll(rc)
	_ = rc.Close() // the read's error is what the test looks at
	if err == nil {
		t.Error("mutate.Extract() of a swapped blob = nil; the case no longer tests what crane checks")
	}
}

func TestLookupRemoteReadsOnlyTheTopLayer(t *testing.T) {
	specs := []layerSpec{
		{dir("app"), file("app/base", strings.Repeat("b", 1<<20))},
		{file("app/mid", "m")},
		{dir("app"), file("app/version.json", `{"version":"1.2.3"}`)},
	}
	img, c := pushImage(t, specs)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	e, err := Lookup(context.Background(), layers, "/app/version.json")
	if err != nil {
		t.Fatalf("Lookup() = %v", err)
	}
	body, err := io.ReadAll(e.Body)
	mustClose(t, e)
	if err != nil || string(body) != `{"version":"1.2.3"}` {
		t.Errorf("Lookup() body = %q, %v", body, err)
	}
	for i, l := range layers {
		d, _ := l.Digest()
		want := 0
		if i == len(layers)-1 {
			want = 1
		}
		if got := c.count(d); got != want {
			t.Errorf("blob GETs of layer %d = %d, want %d", i, got, want)
		}
	}
	if top, _ := layers[2].Digest(); e.Layer != top {
		t.Errorf("Entry.Layer = %v, want the top layer %v", e.Layer, top)
	}
	if !errors.Is(func() error { _, err := Lookup(context.Background(), layers, "/app/none"); return err }(), ErrNotFound) {
		t.Error("Lookup(/app/none) is not ErrNotFound")
	}
}
