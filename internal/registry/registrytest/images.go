package registrytest

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RandomImage returns a random image with the given number of 1 KiB layers,
// its config set to linux/amd64.
func RandomImage(t testing.TB, layers int) v1.Image {
	t.Helper()
	return RandomImageFor(t, layers, v1.Platform{OS: "linux", Architecture: "amd64"})
}

// RandomImageFor returns a random image whose config names platform p.
func RandomImageFor(t testing.TB, layers int, p v1.Platform) v1.Image {
	t.Helper()
	img, err := random.Image(1024, int64(layers))
	if err != nil {
		t.Fatalf("random.Image: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("config file: %v", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatalf("mutate.ConfigFile: %v", err)
	}
	return img
}

// RandomIndex returns an index with one random two-layer image per platform,
// each entry carrying its platform in the descriptor. With no platforms it
// holds linux/amd64 and linux/arm64.
func RandomIndex(t testing.TB, platforms ...v1.Platform) v1.ImageIndex {
	t.Helper()
	if len(platforms) == 0 {
		platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
	}
	adds := make([]mutate.IndexAddendum, len(platforms))
	for i, p := range platforms {
		img := RandomImageFor(t, 2, p)
		mt, err := img.MediaType()
		if err != nil {
			t.Fatalf("media type: %v", err)
		}
		p := p
		adds[i] = mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{MediaType: mt, Platform: &p}}
	}
	return mutate.AppendManifests(empty.Index, adds...)
}

// Push writes img (a v1.Image) or an index (v1.ImageIndex) to ref
// ("host/repo:tag") over plain HTTP unless opts says otherwise, with
// go-containerregistry directly so that tests do not depend on the client
// under test. It returns the manifest digest.
func Push(t testing.TB, ref string, content remote.Taggable, opts ...remote.Option) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatalf("parse %q: %v", ref, err)
	}
	switch c := content.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(r, c, opts...)
	case v1.Image:
		err = remote.Write(r, c, opts...)
	default:
		t.Fatalf("push %q: unsupported %T", ref, content)
	}
	if err != nil {
		t.Fatalf("push %q: %v", ref, err)
	}
	d, err := content.(interface{ Digest() (v1.Hash, error) }).Digest()
	if err != nil {
		t.Fatalf("digest: %v", err)
	}
	return d
}

// PushRandomImage pushes a random two-layer linux/amd64 image to
// host/repo:tag and returns it.
func PushRandomImage(t testing.TB, host, repo, tag string, opts ...remote.Option) v1.Image {
	t.Helper()
	img := RandomImage(t, 2)
	Push(t, host+"/"+repo+":"+tag, img, opts...)
	return img
}

// PushRandomIndex pushes RandomIndex(platforms...) to host/repo:tag and
// returns it.
func PushRandomIndex(t testing.TB, host, repo, tag string, platforms ...v1.Platform) v1.ImageIndex {
	t.Helper()
	idx := RandomIndex(t, platforms...)
	Push(t, host+"/"+repo+":"+tag, idx)
	return idx
}
