package demo

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// HostileRepo holds an image whose content is made to attack a
// browser: labels, annotations, an environment variable, file names and a
// file's content carry script payloads. The UI must show them as text; its
// test asserts that none runs (each would set window.__pwned).
const HostileRepo = "test/hostile"

// The payloads HostileRepo carries. No "/" in the file name ones: a tar
// name is a path.
const (
	// ScriptPayload is a script element.
	ScriptPayload = `<script>window.__pwned=1</script>`
	// ImgPayload closes an attribute and adds an element with a handler.
	ImgPayload = `"><img src=x onerror=window.__pwned=1>`
)

// addHostile adds test/hostile:latest and an SBOM referring to it to c.
func addHostile(c map[string]remote.Taggable) error {
	img, err := imageSpec{
		config: v1.Config{
			Labels: map[string]string{
				"org.opencontainers.image.title": ScriptPayload,
				ImgPayload:                       ImgPayload,
			},
			Env: []string{"PAYLOAD=" + ImgPayload},
		},
		layers: [][]file{{
			text("index.html", "<!doctype html>"+ScriptPayload+ImgPayload+"\n"),
			text(ImgPayload, "a file whose name is markup\n"),
			dir("<script>window.__pwned=1</"),
			text("<script>window.__pwned=1</script>", "a file whose path is a script element\n"),
		}},
	}.build()
	if err != nil {
		return fmt.Errorf("build %s: %w", HostileRepo, err)
	}
	img = mutate.Annotations(img, map[string]string{"org.opencontainers.image.description": ScriptPayload}).(v1.Image)
	c[HostileRepo+":latest"] = img

	// An SBOM that names the image as its subject, with a hostile
	// annotation: the referrers table shows annotations.
	desc, err := partial.Descriptor(img)
	if err != nil {
		return err
	}
	sbom, err := artifact(SBOMType, "sbom.spdx.json", `{"spdxVersion":"SPDX-2.3","name":"`+ScriptPayload+`"}`+"\n",
		map[string]string{"org.opencontainers.image.description": ImgPayload},
		v1.Descriptor{MediaType: desc.MediaType, Size: desc.Size, Digest: desc.Digest})
	if err != nil {
		return fmt.Errorf("build %s sbom: %w", HostileRepo, err)
	}
	d, err := sbom.Digest()
	if err != nil {
		return err
	}
	c[HostileRepo+"@"+d.String()] = sbom
	return nil
}
