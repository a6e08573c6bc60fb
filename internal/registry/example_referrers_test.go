package registry_test

import (
	"context"
	"fmt"
	"log"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/registry"
)

// List what refers to an image: here an SBOM pushed with the image as its
// subject. go-containerregistry's registry has no referrers API by
// default, so the answer comes from the tag schema.
func ExampleClient_GetReferrers() {
	host, stop := startRegistry()
	defer stop()
	seed(host, "team/app", "v1", "app")
	ctx := context.Background()
	c := registry.NewClientWithOptions(host, &registry.Options{Insecure: true}).WithSegment("team", "app")

	m, err := c.GetManifest(ctx, "v1")
	if err != nil {
		log.Fatal(err)
	}
	d := m.GetDescriptor()
	sbom, _ := random.Image(64, 1)
	sbom = mutate.ConfigMediaType(mutate.MediaType(sbom, types.OCIManifestSchema1), "application/spdx+json")
	sbom = mutate.Subject(sbom, v1.Descriptor{MediaType: d.GetMediaType(), Size: d.GetSize(), Digest: d.GetDigest()}).(v1.Image)
	sd, _ := partial.Digest(sbom)
	ref, _ := name.NewDigest(host+"/team/app@"+sd.String(), name.Insecure)
	if err := remote.Write(ref, sbom); err != nil {
		log.Fatal(err)
	}

	refs, err := c.GetReferrers(ctx, "v1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(refs.Source, refs.Subject == d.GetDigest())
	for _, r := range refs.Manifests {
		fmt.Println(r.GetArtifactType(), r.GetDigest() == sd)
	}
	// Output:
	// tag-schema true
	// application/spdx+json true
}
