package handlers

import (
	"net/http"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// TestInspect checks GET …/-/images/{reference} on an image, an index, an
// index entry picked by platform, and tags=true, against what was pushed.
func TestInspect(t *testing.T) {
	dist := registrytest.StartDistribution(t, nil)
	created := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	img := datedImage(t, created, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})
	cf := must(img.ConfigFile()).DeepCopy()
	cf.Config.Labels = map[string]string{"org.opencontainers.image.source": "https://example.com/app"}
	cf.Config.Env = []string{"PATH=/usr/bin", "APP=1"}
	cf.Config.Entrypoint = []string{"/app"}
	cf.Config.Cmd = []string{"--serve"}
	cf.Config.WorkingDir = "/srv"
	cf.Config.User = "65532"
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}, "443/tcp": {}}
	cf.History = []v1.History{{Created: v1.Time{Time: created}, CreatedBy: "COPY app /app", Comment: "buildkit"}, {CreatedBy: "ENV APP=1", EmptyLayer: true}}
	img = must(mutate.ConfigFile(img, cf))
	digest := registrytest.Push(t, dist.Host+"/"+tableRepo+":full", img).String()
	retag(t, dist.Host, tableRepo, digest, "also")
	idx := datedIndex(t, created)
	idxDigest := registrytest.Push(t, dist.Host+"/"+tableRepo+":multi", idx).String()
	registrytest.Push(t, dist.Host+"/"+tableRepo+":other", datedImage(t, created, v1.Platform{OS: "linux", Architecture: "amd64"}))

	c, err := cache.New()
	if err != nil {
		t.Fatal(err)
	}
	a := newAPI(t, Config{Upstreams: []Upstream{{Name: "dist", Host: dist.Host, Client: c.Wrap("dist", clientFor(dist.Host, nil))}}, Cache: c})
	base := "/api/v1/repos/dist/" + tableRepo + "/-/images/"
	inspect := func(path string) (inspectResponse, response) {
		t.Helper()
		res := a.get(t, base+path)
		if res.Status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, res.Status, res.Body)
		}
		var got inspectResponse
		res.json(t, &got)
		return got, res
	}

	got, res := inspect("full")
	m := must(img.Manifest())
	size := m.Config.Size
	var layers []inspectLayer
	for _, l := range m.Layers {
		size += l.Size
		layers = append(layers, inspectLayer{Digest: l.Digest.String(), MediaType: string(l.MediaType), Size: l.Size})
	}
	want := inspectResponse{Registry: "dist", Repository: tableRepo, Reference: "full", imageInspect: imageInspect{
		Digest: digest, MediaType: string(must(img.MediaType())), Created: "2026-02-03T04:05:06Z", Size: &size,
		OS: "linux", Architecture: "arm64", Variant: "v8", Labels: cf.Config.Labels, Env: cf.Config.Env,
		Entrypoint: []string{"/app"}, Cmd: []string{"--serve"}, WorkingDir: "/srv", User: "65532",
		ExposedPorts: []string{"443/tcp", "8080/tcp"}, Layers: layers,
		History: []inspectHistory{{Created: "2026-02-03T04:05:06Z", CreatedBy: "COPY app /app", Comment: "buildkit"}, {CreatedBy: "ENV APP=1", EmptyLayer: true}},
	}}
	if diff := gocmp.Diff(want, got, gocmp.AllowUnexported(inspectResponse{})); diff != "" {
		t.Errorf("inspect full (-want +got):\n%s", diff)
	}
	if res.Header.Get("Docker-Content-Digest") != digest {
		t.Errorf("Docker-Content-Digest = %q, want %s", res.Header.Get("Docker-Content-Digest"), digest)
	}

	multi, _ := inspect("multi")
	if multi.Digest != idxDigest || multi.Size != nil || len(multi.Platforms) != 3 || multi.Created != "2026-02-03T04:05:06Z" {
		t.Errorf("inspect multi = digest %s size %v %d platforms created %q; want %s, no size, 3 entries, the newest date",
			multi.Digest, multi.Size, len(multi.Platforms), multi.Created, idxDigest)
	}
	arm, res := inspect("multi?platform=linux/arm/v7")
	if len(multi.Platforms) > 1 && (arm.Digest != multi.Platforms[1].Digest || arm.Variant != "v7" || arm.Created != "2026-02-02T04:05:06Z") {
		t.Errorf("inspect multi?platform=linux/arm/v7 = %s %s/%s/%s %s, want entry %s, created a day earlier",
			arm.Digest, arm.OS, arm.Architecture, arm.Variant, arm.Created, multi.Platforms[1].Digest)
	}
	if res.Header.Get(platformHeader) != "linux/arm/v7" {
		t.Errorf("%s = %q, want linux/arm/v7", platformHeader, res.Header.Get(platformHeader))
	}
	a.get(t, base+"multi?platform=windows/amd64").problem(t, http.StatusNotFound, "PLATFORM_UNKNOWN")
	a.get(t, base+"nope").problem(t, http.StatusNotFound, "MANIFEST_UNKNOWN")

	byDigest, res := inspect(digest + "?tags=true")
	if !gocmp.Equal(byDigest.Tags, []string{"also", "full"}) || res.Header.Get("Cache-Control") != cacheControlShort {
		t.Errorf("inspect %s?tags=true = tags %v Cache-Control %q, want [also full], %s", digest, byDigest.Tags, res.Header.Get("Cache-Control"), cacheControlShort)
	}
	if _, res := inspect(digest); res.Header.Get("Cache-Control") != cacheControlImmutable {
		t.Errorf("inspect by digest Cache-Control = %q, want %s", res.Header.Get("Cache-Control"), cacheControlImmutable)
	}
	if child, _ := inspect(arm.Digest + "?tags=true"); !gocmp.Equal(child.Tags, []string{"multi"}) {
		t.Errorf("inspect of an index entry with tags=true = %v, want [multi]", child.Tags)
	}

	before := len(dist.Requests())
	inspect("full")
	inspect("multi?platform=linux/arm/v7")
	if n := len(dist.Requests()) - before; n != 0 {
		t.Errorf("inspects within the TTL made %d upstream requests, want 0", n)
	}
}
