package demo

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// InsightRepo is the repository the image table, inspect and
// referrers examples read: versions with dates, pre-releases, tags that are
// no versions, aliases, a multi-arch release and two referrers.
const InsightRepo = "shop/web"

// Artifact types of the demo's referrers.
const (
	// SignatureType is a sigstore bundle's.
	SignatureType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// SBOMType is an SPDX document's.
	SBOMType = "application/spdx+json"
)

// demoRelease is one tag of shop/web: a version (or not), the date its
// image was built, and the platforms of a multi-arch release.
type demoRelease struct {
	tag     string
	created time.Time
	multi   bool
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 30, 0, 0, time.UTC) }

// demoReleases are shop/web's tags in the order they were built.
var demoReleases = []demoRelease{
	{tag: "v1.0.0", created: day(2025, 1, 10)},
	{tag: "v1.1.0", created: day(2025, 3, 2)},
	{tag: "v1.1.1", created: day(2025, 4, 15)},
	{tag: "v1.2.0-rc.1", created: day(2025, 6, 1)},
	{tag: "v1.2.0", created: day(2025, 6, 20)},
	{tag: "v2.0.0-beta.1", created: day(2025, 9, 9)},
	{tag: "v2.0.0", created: day(2025, 11, 11), multi: true},
	{tag: "main", created: day(2025, 12, 1)},
	{tag: "nightly", created: day(2025, 12, 5)},
}

// demoAliases point a second tag at a release's digest.
var demoAliases = map[string]string{"latest": "v2.0.0", "stable": "v1.2.0"}

// demoSigned is the release the demo's referrers sign and describe.
const demoSigned = "v2.0.0"

// addInsightContent adds shop/web's images and indexes to c.
func addInsightContent(c map[string]remote.Taggable) error {
	byTag := map[string]remote.Taggable{}
	for _, r := range demoReleases {
		spec := func(p v1.Platform) imageSpec {
			return imageSpec{
				platform: p,
				created:  r.created,
				config: v1.Config{
					Entrypoint:   []string{"/web"},
					Cmd:          []string{"--listen", ":8080"},
					Env:          []string{"PATH=/usr/bin:/bin", "WEB_VERSION=" + r.tag},
					WorkingDir:   "/srv",
					User:         "65532",
					ExposedPorts: map[string]struct{}{"8080/tcp": {}},
					Labels:       map[string]string{"org.opencontainers.image.version": r.tag, "org.opencontainers.image.source": "https://example.com/shop/web"},
				},
				layers: [][]file{{exe("web", "#!/bin/false\n# regapi demo web "+r.tag+" "+p.String()+"\n")}},
			}
		}
		var t remote.Taggable
		if r.multi {
			images := map[string]v1.Image{}
			for _, p := range demoPlatforms[:2] {
				img, err := spec(p).build()
				if err != nil {
					return fmt.Errorf("build %s %s: %w", r.tag, p, err)
				}
				images[p.String()] = img
			}
			t = index(false, images, demoPlatforms[:2]...)
		} else {
			img, err := spec(v1.Platform{}).build()
			if err != nil {
				return fmt.Errorf("build %s: %w", r.tag, err)
			}
			t = img
		}
		byTag[r.tag] = t
		c[InsightRepo+":"+r.tag] = t
	}
	for alias, tag := range demoAliases {
		c[InsightRepo+":"+alias] = byTag[tag]
	}
	return nil
}

// seedReferrers pushes a signature and an SBOM whose subject is
// shop/web:v2.0.0. The demo registry has no referrers API, so the push
// also maintains the tag schema's index (sha256-<hex>), as clients do.
func seedReferrers(ctx context.Context, host string, tr http.RoundTripper, c map[string]remote.Taggable) error {
	signed, ok := c[InsightRepo+":"+demoSigned].(partial.Describable)
	if !ok {
		return fmt.Errorf("seed referrers: %s is not in the demo", demoSigned)
	}
	subject, err := partial.Descriptor(signed)
	if err != nil {
		return err
	}
	subject = &v1.Descriptor{MediaType: subject.MediaType, Size: subject.Size, Digest: subject.Digest}
	artifacts := []struct {
		artifactType, file, body string
		annotations              map[string]string
	}{
		{SignatureType, "signature.json", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","demo":true}` + "\n",
			map[string]string{"dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"}},
		{SBOMType, "sbom.spdx.json", `{"spdxVersion":"SPDX-2.3","name":"shop/web v2.0.0","packages":[]}` + "\n",
			map[string]string{"org.opencontainers.image.created": "2025-11-11T09:31:00Z"}},
	}
	for _, a := range artifacts {
		img, err := artifact(a.artifactType, a.file, a.body, a.annotations, *subject)
		if err != nil {
			return err
		}
		d, err := img.Digest()
		if err != nil {
			return err
		}
		ref, err := name.NewDigest(host+"/"+InsightRepo+"@"+d.String(), name.Insecure, name.StrictValidation)
		if err != nil {
			return err
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithTransport(tr)); err != nil {
			return fmt.Errorf("seed referrer %s: %w", a.artifactType, err)
		}
	}
	return nil
}

// artifact is an OCI artifact in the image-manifest form OCI 1.1
// recommends: the artifact type as the config's media type, one layer.
func artifact(artifactType, file, body string, annotations map[string]string, subject v1.Descriptor) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(artifactType))
	l, err := layer(types.MediaType(artifactType), text(file, body))
	if err != nil {
		return nil, err
	}
	if img, err = mutate.Append(img, mutate.Addendum{Layer: l}); err != nil {
		return nil, err
	}
	img = mutate.Annotations(img, annotations).(v1.Image)
	return mutate.Subject(img, subject).(v1.Image), nil
}
