package transfer

import (
	"errors"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Format names the kind of archive an Artifact was read from.
type Format string

// The archive formats Load reads.
const (
	// FormatDockerArchive is the `docker save` format: manifest.json naming
	// a config file and layer tars.
	FormatDockerArchive Format = "docker-archive"
	// FormatOCILayout is an OCI image layout: oci-layout, index.json and
	// content-addressed blobs.
	FormatOCILayout Format = "oci-layout"
)

// maxMetadataBytes caps what Load reads into memory at once: manifest.json,
// index.json, a manifest or a config. Registries cap manifests at 4 MiB
// (distribution's default); image configs are far smaller.
const maxMetadataBytes = 4 << 20

// Artifact is what an upload holds: exactly one of Image and Index is set.
// It reads its blobs from the Spooled it was loaded from and is usable until
// that is closed.
type Artifact struct {
	// Image is set when the upload holds one image.
	Image v1.Image
	// Index is set when the upload holds an image index.
	Index v1.ImageIndex
	// Format is the archive format the artifact was read from.
	Format Format
}

// Digest returns the digest of the artifact's manifest.
func (a Artifact) Digest() (v1.Hash, error) {
	if a.Index != nil {
		return a.Index.Digest()
	}
	if a.Image != nil {
		return a.Image.Digest()
	}
	return v1.Hash{}, errors.New("empty artifact")
}

// MediaType returns the media type of the artifact's manifest.
func (a Artifact) MediaType() (types.MediaType, error) {
	if a.Index != nil {
		return a.Index.MediaType()
	}
	if a.Image != nil {
		return a.Image.MediaType()
	}
	return "", errors.New("empty artifact")
}

// Load reads the image archive in s and validates it completely before
// returning, so that a push of the result cannot fail on the archive's
// account. Every error wraps ErrInvalidTarball.
//
// An archive with an oci-layout file is read as an OCI image layout: when
// index.json lists exactly one manifest, that image or index is the
// artifact; when it lists several, index.json itself is pushed as an index
// of them (as `crane push` does). Every blob reachable from there must be in
// the archive with the size and digest its descriptor gives.
//
// An archive with a manifest.json is read as `docker save` output. It must
// describe exactly one image (save one image per upload; RepoTags are
// ignored, the tag comes from the request). Each layer, decompressed, must
// hash to the config's rootfs.diff_ids entry, and a config or layer stored
// under its digest (blobs/sha256/<hex> or <hex>.json) must match it. The
// manifest pushed is the one go-containerregistry's tarball package builds,
// as `crane push` and `docker push` do, so its digest is not the one a
// registry showed before the save.
//
// Docker 25 and later write both. Such an archive is read as an OCI layout,
// unless the layout references blobs the archive lacks (the containerd image
// store saves the whole index but only one platform's content); then it is
// read through manifest.json.
func Load(s *Spooled) (Artifact, error) {
	ix, err := indexTar(s, s.Size())
	if err != nil {
		return Artifact{}, err
	}
	hasLayout, hasManifest := ix.has("oci-layout"), ix.has("manifest.json")
	switch {
	case hasLayout:
		a, err := loadLayout(ix)
		if err != nil && hasManifest && errors.Is(err, errMissingBlob) {
			return loadDockerArchive(ix)
		}
		return a, err
	case hasManifest:
		return loadDockerArchive(ix)
	}
	return Artifact{}, invalidf("neither manifest.json (docker save) nor oci-layout (OCI image layout) found")
}
