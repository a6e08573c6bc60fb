package handlers

import (
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// Seeded content, the same on every registry a test starts.
const (
	alpineTags = 25 // t00…t24, plus latest
)

// repoNames is every repository seed pushes, sorted.
var repoNames = []string{
	"layers/whiteout",
	"legacy/img",
	"library/alpine",
	"library/busybox",
	"multi/app",
	"nested/a/b/deep",
	"nested/a/c",
	"nested/top",
	"solo",
}

// indexPlatforms are the platforms of multi/app:v1.
var indexPlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64", Variant: "v8"},
	{OS: "linux", Architecture: "arm", Variant: "v7"},
}

// fixture is what seed pushed.
type fixture struct {
	host     string
	alpine   v1.Image
	index    v1.ImageIndex
	whiteout v1.Image
	docker   v1.Image
}

// seed pushes the test content to host with go-containerregistry directly.
func seed(t *testing.T, host string) fixture {
	t.Helper()
	f := fixture{host: host}
	f.alpine = registrytest.RandomImage(t, 2)
	registrytest.Push(t, host+"/library/alpine:latest", f.alpine)
	for i := range alpineTags {
		registrytest.Push(t, fmt.Sprintf("%s/library/alpine:t%02d", host, i), f.alpine)
	}
	for _, repo := range []string{"library/busybox", "nested/a/b/deep", "nested/a/c", "nested/top", "solo"} {
		registrytest.PushRandomImage(t, host, repo, "v1")
	}
	f.index = registrytest.PushRandomIndex(t, host, "multi/app", "v1", indexPlatforms...)
	f.whiteout = whiteoutImage(t)
	registrytest.Push(t, host+"/layers/whiteout:v1", f.whiteout)
	f.docker = dockerImage(t)
	// Not "docker/…": distribution v3.1.2's in-memory catalog comes back
	// empty once a repository's first component is "docker" (its storage
	// root is /docker/registry/v2).
	registrytest.Push(t, host+"/legacy/img:v1", f.docker)
	return f
}

// whiteoutImage has two layers: the second deletes etc/a with a whiteout
// and empties dir/ with an opaque marker before adding dir/y.
func whiteoutImage(t *testing.T) v1.Image {
	t.Helper()
	lower, err := crane.Layer(map[string][]byte{
		"etc/a":  []byte("a"),
		"etc/b":  []byte("b"),
		"dir/x":  []byte("x"),
		"keep/k": []byte("k"),
	})
	if err != nil {
		t.Fatalf("layer: %v", err)
	}
	upper, err := crane.Layer(map[string][]byte{
		"etc/.wh.a":        nil,
		"dir/.wh..wh..opq": nil,
		"dir/y":            []byte("y"),
	})
	if err != nil {
		t.Fatalf("layer: %v", err)
	}
	img, err := mutate.AppendLayers(empty.Image, lower, upper)
	if err != nil {
		t.Fatalf("append layers: %v", err)
	}
	return withPlatform(t, img, v1.Platform{OS: "linux", Architecture: "amd64"})
}

// dockerImage is a random image with Docker schema 2 media types.
func dockerImage(t *testing.T) v1.Image {
	t.Helper()
	img := mutate.MediaType(registrytest.RandomImage(t, 1), types.DockerManifestSchema2)
	return mutate.ConfigMediaType(img, types.DockerConfigJSON)
}

func withPlatform(t *testing.T, img v1.Image, p v1.Platform) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return img
}

// must returns v; fixtures built in memory do not fail, and if one did the
// panic fails the test with its stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// childOf returns the index entry for platform p.
func childOf(t *testing.T, idx v1.ImageIndex, p v1.Platform) v1.Descriptor {
	t.Helper()
	im := must(idx.IndexManifest())
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.Equals(p) {
			return d
		}
	}
	t.Fatalf("index has no %s", p.String())
	return v1.Descriptor{}
}
