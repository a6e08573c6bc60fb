package handlers

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// Artifact types of the referrers the tests attach.
const (
	sigArtifact  = "application/vnd.dev.cosign.simplesigning.v1+json"
	sbomArtifact = "application/spdx+json"
)

// referrerOf is an OCI artifact of type artifactType (its config media
// type) whose subject is subject.
func referrerOf(t testing.TB, subject v1.Descriptor, artifactType string, annotations map[string]string) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(artifactType))
	img = mutate.Annotations(img, annotations).(v1.Image)
	return mutate.Subject(img, subject).(v1.Image)
}

// TestReferrers lists referrers made by the test on go-containerregistry's
// registry with its referrers API and without (the tag schema), and on the
// distribution registry (tag schema), for an
// image, an index and an index entry picked by platform, with the
// artifactType filter, and checks that the answer is cached for the tag
// TTL only.
func TestReferrers(t *testing.T) {
	for _, tt := range []struct {
		name   string
		start  func(t *testing.T) *registrytest.Registry
		source string
	}{
		{"ggcr/api", func(t *testing.T) *registrytest.Registry {
			return registrytest.StartGGCRWith(t, false, ggcrregistry.WithReferrersSupport(true))
		}, registry.ReferrersAPI},
		{"ggcr/tag-schema", func(t *testing.T) *registrytest.Registry { return registrytest.StartGGCRWith(t, false) }, registry.ReferrersTagSchema},
		// The CNCF distribution registry (v3.1) has no referrers API.
		{"distribution/tag-schema", func(t *testing.T) *registrytest.Registry { return registrytest.StartDistribution(t, nil) }, registry.ReferrersTagSchema},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := tt.start(t)
			repo := reg.Host + "/team/app"
			img := datedImage(t, tableBase, v1.Platform{OS: "linux", Architecture: "amd64"})
			registrytest.Push(t, repo+":v1", img)
			idx := datedIndex(t, tableBase)
			registrytest.Push(t, repo+":multi", idx)
			imgDesc := must(partial.Descriptor(img))
			sig := referrerOf(t, *imgDesc, sigArtifact, map[string]string{"dev.cosignproject.cosign/signature": "MEUC"})
			sbom := referrerOf(t, *imgDesc, sbomArtifact, nil)
			sigDigest := registrytest.Push(t, repo+"@"+must(sig.Digest()).String(), sig).String()
			sbomDigest := registrytest.Push(t, repo+"@"+must(sbom.Digest()).String(), sbom).String()
			idxDesc := must(partial.Descriptor(idx))
			idxSigImg := referrerOf(t, *idxDesc, sigArtifact, nil)
			idxSig := registrytest.Push(t, repo+"@"+must(idxSigImg.Digest()).String(), idxSigImg).String()
			arm := must(idx.IndexManifest()).Manifests[1]
			armSig := referrerOf(t, arm, sigArtifact, nil)
			armSigDigest := registrytest.Push(t, repo+"@"+must(armSig.Digest()).String(), armSig).String()

			clock := &fakeClock{}
			clock.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
			c, err := cache.New(cache.WithClock(clock.now))
			if err != nil {
				t.Fatal(err)
			}
			a := newAPI(t, Config{Upstreams: []Upstream{{Name: "ggcr", Host: reg.Host, Client: c.Wrap("ggcr", clientFor(reg.Host, nil))}}, Cache: c})
			list := func(q string) referrersResponse {
				t.Helper()
				res := a.get(t, "/api/v1/repos/ggcr/team/app/-/referrers/"+q)
				if res.Status != http.StatusOK {
					t.Fatalf("GET referrers/%s = %d %s", q, res.Status, res.Body)
				}
				var got referrersResponse
				res.json(t, &got)
				if got.Source != tt.source {
					t.Errorf("referrers/%s source = %q, want %q", q, got.Source, tt.source)
				}
				return got
			}
			digests := func(r referrersResponse) []string {
				var out []string
				for _, x := range r.Referrers {
					out = append(out, x.Digest)
				}
				slices.Sort(out)
				return out
			}
			sorted := func(s ...string) []string { slices.Sort(s); return s }

			got := list("v1")
			if got.Digest != imgDesc.Digest.String() || !slices.Equal(digests(got), sorted(sigDigest, sbomDigest)) {
				t.Errorf("referrers/v1 = %s %v, want %s [%s %s]", got.Digest, digests(got), imgDesc.Digest, sigDigest, sbomDigest)
			}
			for _, r := range got.Referrers {
				if r.Digest == sigDigest && (r.ArtifactType != sigArtifact || r.Annotations["dev.cosignproject.cosign/signature"] != "MEUC" || r.MediaType != string(types.OCIManifestSchema1) || r.Size <= 0) {
					t.Errorf("signature referrer = %+v, want type %s, its annotation, OCI manifest, a size", r, sigArtifact)
				}
			}
			if got := list("v1?artifactType=" + url.QueryEscape(sbomArtifact)); !slices.Equal(digests(got), []string{sbomDigest}) {
				t.Errorf("referrers/v1?artifactType=sbom = %v, want [%s]", digests(got), sbomDigest)
			}
			if got := list("multi"); !slices.Equal(digests(got), []string{idxSig}) {
				t.Errorf("referrers/multi = %v, want the index's signature %s", digests(got), idxSig)
			}
			if got := list("multi?platform=linux/arm/v7"); got.Digest != arm.Digest.String() || !slices.Equal(digests(got), []string{armSigDigest}) {
				t.Errorf("referrers/multi?platform=linux/arm/v7 = %s %v, want %s [%s]", got.Digest, digests(got), arm.Digest, armSigDigest)
			}
			if got := list(sigDigest); len(got.Referrers) != 0 {
				t.Errorf("referrers of the signature = %v, want none", digests(got))
			}

			// Within the tag TTL a new signature does not show and nothing
			// reaches the upstream; after it, it shows.
			before := len(reg.Requests())
			list("v1")
			if n := len(reg.Requests()) - before; n != 0 {
				t.Errorf("referrers within the TTL made %d upstream requests, want 0", n)
			}
			late := referrerOf(t, *imgDesc, sigArtifact, map[string]string{"n": "2"})
			lateDigest := registrytest.Push(t, repo+"@"+must(late.Digest()).String(), late).String()
			if got := list("v1"); len(got.Referrers) != 2 {
				t.Errorf("referrers within the TTL after a push = %d, want the 2 cached", len(got.Referrers))
			}
			clock.advance(31 * time.Second)
			if got := list("v1"); !slices.Equal(digests(got), sorted(sigDigest, sbomDigest, lateDigest)) {
				t.Errorf("referrers after the TTL = %v, want the new signature %s too", digests(got), lateDigest)
			}
			a.get(t, "/api/v1/repos/ggcr/team/app/-/referrers/nope").problem(t, http.StatusNotFound, "MANIFEST_UNKNOWN")
		})
	}
}

// TestReferrersUpstreamFailure: a registry that fails the referrers API
// answers an error, never an empty list.
func TestReferrersUpstreamFailure(t *testing.T) {
	reg := registrytest.StartGGCRWith(t, false, ggcrregistry.WithReferrersSupport(true))
	img := datedImage(t, tableBase, v1.Platform{OS: "linux", Architecture: "amd64"})
	registrytest.Push(t, reg.Host+"/team/app:v1", img)
	// The real registry, but its referrers API fails (what a real one
	// cannot be made to do on demand).
	inner := reg.Server.Config.Handler
	var failed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/referrers/") {
			failed.Add(1)
			http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"boom"}]}`, http.StatusInternalServerError)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	a := newAPI(t, Config{Upstreams: []Upstream{{Name: "bad", Host: host, Client: clientFor(host, nil)}}})
	a.get(t, "/api/v1/repos/bad/team/app/-/referrers/v1").problem(t, http.StatusBadGateway, "UPSTREAM_UNAVAILABLE")
	if failed.Load() == 0 {
		t.Error("the referrers API was never asked")
	}
}
