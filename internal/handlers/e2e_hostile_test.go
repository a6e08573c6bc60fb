package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// foreignLayerImage is a manifest (and its config) whose one layer is a
// foreign layer: the registry does not have it, its descriptor sends
// clients to url instead.
func foreignLayerImage(t *testing.T, url string) (manifest []byte, config []byte, configDigest v1.Hash) {
	t.Helper()
	img := registrytest.RandomImage(t, 0)
	config = must(img.RawConfigFile())
	configDigest = must(img.ConfigName())
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(config)), Digest: configDigest},
		Layers: []v1.Descriptor{{
			MediaType: types.DockerForeignLayer,
			Size:      1234,
			Digest:    v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("f", 64)},
			URLs:      []string{url},
		}},
	}
	manifest, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return manifest, config, configDigest
}

// TestHostileUpstreamIsBadGateway: an upstream that answers something
// regapi cannot use (a token realm it refuses, a foreign layer at an
// address it refuses, a catalog whose pagination loops) is the upstream's
// fault: 502 UPSTREAM_INVALID, never 500, and the body names no address.
func TestHostileUpstreamIsBadGateway(t *testing.T) {
	creds := &authn.Basic{Username: "robot", Password: "hostile-upstream-password"}
	privateRealm, _ := stubRegistry(t, false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://10.11.12.13/token",service="stub"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	foreignRealm, _ := stubRegistry(t, false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://auth.elsewhere.example/token",service="stub"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	manifest, config, configDigest := foreignLayerImage(t, "http://10.11.12.13/layer.tar.gz")
	foreignLayer, _ := stubRegistry(t, true, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/manifests/"):
			w.Header().Set("Content-Type", string(types.DockerManifestSchema2))
			w.Write(manifest)
		case strings.HasSuffix(r.URL.Path, "/blobs/"+configDigest.String()):
			w.Write(config)
		default:
			http.NotFound(w, r)
		}
	})
	looping, loopHits := stubRegistry(t, true, func(w http.ResponseWriter, r *http.Request) {
		// Every page points back at itself.
		w.Header().Set("Link", `</v2/_catalog?last=a&n=1000>; rel="next"`)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"repositories":["a"]}`)
	})
	ups := []Upstream{
		{Name: "privaterealm", Host: "a.example", Client: clientFor(privateRealm, &registry.Options{Auth: creds})},
		{Name: "foreignrealm", Host: "b.example", Client: clientFor(foreignRealm, &registry.Options{Auth: creds})},
		{Name: "foreignlayer", Host: "c.example", Client: clientFor(foreignLayer, nil)},
		{Name: "looping", Host: "d.example", Client: clientFor(looping, nil)},
	}
	a := newAPI(t, Config{Upstreams: ups})
	for _, path := range []string{
		"/api/v1/repos/privaterealm/app/-/tags",
		"/api/v1/repos/privaterealm/app/-/manifests/v1",
		"/api/v1/repos/foreignrealm/app/-/tags",
		"/api/v1/repos/foreignlayer/app/-/extract/v1",
		"/api/v1/repos/foreignlayer/app/-/files/v1/etc/passwd",
		"/api/v1/repos/looping/-/repositories",
		"/api/v1/repos/looping/a/-/repositories",
	} {
		t.Run(strings.TrimPrefix(path, "/api/v1/repos/"), func(t *testing.T) {
			res := a.get(t, path)
			res.problem(t, http.StatusBadGateway, "UPSTREAM_INVALID")
			for _, leak := range []string{"10.11.12.13", "elsewhere", "127.0.0.1", "://"} {
				if strings.Contains(string(res.Body), leak) {
					t.Errorf("GET %s: body names %q: %s", path, leak, res.Body)
				}
			}
		})
	}
	if n := loopHits.Load(); n > 2*(maxScanPages+2) {
		t.Errorf("the looping catalog was read %d times, want it noticed at once", n)
	}
}
