package main

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// demoHostileRepo holds an image whose content is made to attack a
// browser: labels, annotations, an environment variable, file names and a
// file's content carry script payloads. The UI must show them as text; its
// test asserts that none runs (each would set window.__pwned).
const demoHostileRepo = "test/hostile"

// The payloads. No "/" in the file name ones: a tar name is a path.
const (
	demoScriptPayload = `<script>window.__pwned=1</script>`
	demoImgPayload    = `"><img src=x onerror=window.__pwned=1>`
)

// addHostile adds test/hostile:latest and an SBOM referring to it to c.
func addHostile(c map[string]remote.Taggable) error {
	img, err := imageSpec{
		config: v1.Config{
			Labels: map[string]string{
				"org.opencontainers.image.title": demoScriptPayload,
				demoImgPayload:                   demoImgPayload,
			},
			Env: []string{"PAYLOAD=" + demoImgPayload},
		},
		layers: [][]file{{
			text("index.html", "<!doctype html>"+demoScriptPayload+demoImgPayload+"\n"),
			text(demoImgPayload, "a file whose name is markup\n"),
			dir("<script>window.__pwned=1</"),
			text("<script>window.__pwned=1</script>", "a file whose path is a script element\n"),
		}},
	}.build()
	if err != nil {
		return fmt.Errorf("build %s: %w", demoHostileRepo, err)
	}
	img = mutate.Annotations(img, map[string]string{"org.opencontainers.image.description": demoScriptPayload}).(v1.Image)
	c[demoHostileRepo+":latest"] = img

	// An SBOM that names the image as its subject, with a hostile
	// annotation: the referrers table shows annotations.
	desc, err := partial.Descriptor(img)
	if err != nil {
		return err
	}
	sbom, err := artifact(demoSBOMType, "sbom.spdx.json", `{"spdxVersion":"SPDX-2.3","name":"`+demoScriptPayload+`"}`+"\n",
		map[string]string{"org.opencontainers.image.description": demoImgPayload},
		v1.Descriptor{MediaType: desc.MediaType, Size: desc.Size, Digest: desc.Digest})
	if err != nil {
		return fmt.Errorf("build %s sbom: %w", demoHostileRepo, err)
	}
	d, err := sbom.Digest()
	if err != nil {
		return err
	}
	c[demoHostileRepo+"@"+d.String()] = sbom
	return nil
}
