package handlers

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// tableBase is the first image date of the table fixture.
var tableBase = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// tableTags names n tags for the table fixture: semantic versions with and
// without "v", pre-releases, and tags that are no versions ("1.2" is not:
// semver wants three numbers).
func tableTags(n int) []string {
	tags := make([]string, 0, n)
	for i := 0; len(tags) < n; i++ {
		var tag string
		switch i % 6 {
		case 0, 1:
			tag = fmt.Sprintf("%d.%d.%d", i/30, i%30/3, i%3)
		case 2:
			tag = fmt.Sprintf("v%d.%d.%d", i/30, i%30/3, i%3)
		case 3:
			tag = fmt.Sprintf("%d.%d.0-rc.%d", i/30, i%30/3, i%4)
		case 4:
			tag = fmt.Sprintf("nightly-%03d", i)
		default:
			tag = fmt.Sprintf("%d.%d", i/30, i%30/3)
		}
		tags = append(tags, tag)
	}
	return tags
}

// pushTable pushes one image per tag of tableTags(n) to host/repo: every
// tenth an index of two platforms, every seventh an alias of the tag before
// it (two tags, one digest), and dates that do not follow the tag order. It
// returns the tags as pushed, the same list the registry has.
func pushTable(t testing.TB, host, repo string, n int) []string {
	t.Helper()
	tags := tableTags(n)
	seen := map[string]bool{}
	var prev v1.Hash
	for i, tag := range tags {
		if seen[tag] {
			t.Fatalf("tableTags has %q twice", tag)
		}
		seen[tag] = true
		ref := host + "/" + repo + ":" + tag
		created := tableBase.Add(time.Duration((i*37)%n) * time.Hour)
		switch {
		case i%7 == 6:
			retag(t, host, repo, prev.String(), tag)
		case i%10 == 9:
			prev = registrytest.Push(t, ref, datedIndex(t, created))
		default:
			prev = registrytest.Push(t, ref, datedImage(t, created, v1.Platform{OS: "linux", Architecture: "amd64"}))
		}
	}
	return tags
}

// datedImage is a random one-layer image for p, created at created.
func datedImage(t testing.TB, created time.Time, p v1.Platform) v1.Image {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: created}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// datedIndex is an index of linux/amd64 (created at created) and
// linux/arm/v7 (a day earlier), plus a buildkit-style attestation entry.
func datedIndex(t testing.TB, created time.Time) v1.ImageIndex {
	t.Helper()
	amd := v1.Platform{OS: "linux", Architecture: "amd64"}
	arm := v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	att := v1.Platform{OS: "unknown", Architecture: "unknown"}
	return mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: datedImage(t, created, amd), Descriptor: v1.Descriptor{MediaType: types.DockerManifestSchema2, Platform: &amd}},
		mutate.IndexAddendum{Add: datedImage(t, created.Add(-24*time.Hour), arm), Descriptor: v1.Descriptor{MediaType: types.DockerManifestSchema2, Platform: &arm}},
		mutate.IndexAddendum{Add: datedImage(t, time.Time{}, att), Descriptor: v1.Descriptor{MediaType: types.DockerManifestSchema2, Platform: &att}},
	)
}

// retag tags the manifest at digest in host/repo as tag too.
func retag(t testing.TB, host, repo, digest, tag string) {
	t.Helper()
	r, err := name.ParseReference(host+"/"+repo+"@"+digest, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatalf("get %s: %v", r, err)
	}
	dst, err := name.NewTag(host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Tag(dst, desc); err != nil {
		t.Fatalf("tag %s: %v", dst, err)
	}
}
