package transfer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Bounds on an OCI layout's graph: how deeply indexes may nest and how many
// descriptors the walk may visit in all. Real multi-platform images have one
// level and a few dozen descriptors.
const (
	maxIndexDepth   = 4
	maxDescriptors  = 1 << 14
	copyHashBufSize = 256 << 10
)

// errMissingBlob marks a layout that references a blob the archive lacks.
var errMissingBlob = errors.New("blob missing")

// loadLayout reads an OCI image layout from ix and verifies every blob
// reachable from index.json.
func loadLayout(ix *tarIndex) (Artifact, error) {
	b, err := ix.readFile("oci-layout", 4<<10)
	if err != nil {
		return Artifact{}, err
	}
	var marker struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(b, &marker); err != nil {
		return Artifact{}, invalidf("oci-layout: %v", err)
	}
	if !strings.HasPrefix(marker.Version, "1.") {
		return Artifact{}, invalidf("oci-layout: unsupported imageLayoutVersion %q", marker.Version)
	}

	raw, err := ix.readFile("index.json", maxMetadataBytes)
	if err != nil {
		return Artifact{}, err
	}
	im, err := parseIndex(raw, "index.json")
	if err != nil {
		return Artifact{}, err
	}
	if len(im.Manifests) == 0 {
		return Artifact{}, invalidf("index.json lists no manifests")
	}

	v := &verifier{blobs: layoutBlobs{ix}, seen: map[v1.Hash]int64{}}
	for _, d := range im.Manifests {
		if err := v.walk(d, 1); err != nil {
			return Artifact{}, err
		}
	}

	a := Artifact{Format: FormatOCILayout}
	if len(im.Manifests) == 1 {
		d := im.Manifests[0]
		if d.MediaType.IsIndex() {
			a.Index, err = newLayoutIndex(v.blobs, d)
		} else {
			a.Image, err = newLayoutImage(v.blobs, d)
		}
	} else {
		mt := im.MediaType
		if mt == "" {
			mt = types.OCIImageIndex
		}
		a.Index = &layoutIndex{blobs: v.blobs, raw: raw, mt: mt}
	}
	if err != nil {
		return Artifact{}, err
	}
	return a, nil
}

// parseIndex parses an index manifest strictly enough to trust it later.
func parseIndex(raw []byte, what string) (*v1.IndexManifest, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, invalidf("%s: %v", what, err)
	}
	return im, nil
}

// verifier walks a layout's descriptors and checks each blob once.
type verifier struct {
	blobs  layoutBlobs
	seen   map[v1.Hash]int64 // verified digest → size
	visits int
}

// walk verifies the manifest d describes and everything below it.
func (v *verifier) walk(d v1.Descriptor, depth int) error {
	if v.visits++; v.visits > maxDescriptors {
		return invalidf("more than %d descriptors", maxDescriptors)
	}
	switch {
	case d.MediaType.IsIndex():
		if depth > maxIndexDepth {
			return invalidf("indexes nested more than %d deep", maxIndexDepth)
		}
		raw, err := v.manifest(d)
		if err != nil {
			return err
		}
		im, err := parseIndex(raw, d.Digest.String())
		if err != nil {
			return err
		}
		if err := sameMediaType(im.MediaType, d); err != nil {
			return err
		}
		for _, c := range im.Manifests {
			if err := v.walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	case d.MediaType.IsImage():
		return v.image(d)
	}
	return invalidf("%s: unsupported manifest media type %q", d.Digest, d.MediaType)
}

// image verifies an image manifest, its config and its layers.
func (v *verifier) image(d v1.Descriptor) error {
	raw, err := v.manifest(d)
	if err != nil {
		return err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return invalidf("manifest %s: %v", d.Digest, err)
	}
	if err := sameMediaType(m.MediaType, d); err != nil {
		return err
	}
	if err := v.check(m.Config, maxMetadataBytes); err != nil {
		return err
	}
	if m.Config.MediaType.IsConfig() {
		cfg, err := v.blobs.read(m.Config.Digest, maxMetadataBytes)
		if err != nil {
			return err
		}
		cf, err := v1.ParseConfigFile(bytes.NewReader(cfg))
		if err != nil {
			return invalidf("config %s: %v", m.Config.Digest, err)
		}
		if n := len(cf.RootFS.DiffIDs); n != len(m.Layers) {
			return invalidf("manifest %s has %d layers but its config %d diff_ids", d.Digest, len(m.Layers), n)
		}
	}
	for _, l := range m.Layers {
		if v.visits++; v.visits > maxDescriptors {
			return invalidf("more than %d descriptors", maxDescriptors)
		}
		if err := v.check(l, -1); err != nil {
			return err
		}
	}
	return nil
}

// manifest verifies the blob of d and returns it.
func (v *verifier) manifest(d v1.Descriptor) ([]byte, error) {
	if err := v.check(d, maxMetadataBytes); err != nil {
		return nil, err
	}
	return v.blobs.read(d.Digest, maxMetadataBytes)
}

// check verifies that d's blob is in the archive with d's size and digest;
// max (when not negative) caps the size.
func (v *verifier) check(d v1.Descriptor, max int64) error {
	if size, ok := v.seen[d.Digest]; ok {
		if size != d.Size {
			return invalidf("blob %s is %d bytes, a descriptor says %d", d.Digest, size, d.Size)
		}
		return nil
	}
	e, err := v.blobs.entry(d.Digest)
	if err != nil {
		return err
	}
	if e.size != d.Size {
		return invalidf("blob %s is %d bytes, its descriptor says %d", d.Digest, e.size, d.Size)
	}
	if max >= 0 && e.size > max {
		return invalidf("blob %s is %d bytes, more than the %d allowed", d.Digest, e.size, max)
	}
	h, err := v1.Hasher(d.Digest.Algorithm)
	if err != nil {
		return invalidf("blob %s: %v", d.Digest, err)
	}
	r := io.NewSectionReader(v.blobs.ix.r, e.offset, e.size)
	if _, err := io.CopyBuffer(h, r, make([]byte, copyHashBufSize)); err != nil {
		return invalidf("read blob %s: %v", d.Digest, err)
	}
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != d.Digest.Hex {
		return invalidf("blob %s: content has digest %s:%s", d.Digest, d.Digest.Algorithm, got)
	}
	v.seen[d.Digest] = e.size
	return nil
}

// sameMediaType rejects a manifest whose own mediaType field contradicts the
// descriptor that points at it.
func sameMediaType(inManifest types.MediaType, d v1.Descriptor) error {
	if inManifest != "" && inManifest != d.MediaType {
		return invalidf("manifest %s says mediaType %q, its descriptor %q", d.Digest, inManifest, d.MediaType)
	}
	return nil
}

// layoutBlobs reads the blobs of an OCI layout out of the tar.
type layoutBlobs struct {
	ix *tarIndex
}

// entry finds the blob with digest h.
func (b layoutBlobs) entry(h v1.Hash) (tarEntry, error) {
	e, err := b.ix.lookup("blobs/" + h.Algorithm + "/" + h.Hex)
	if err != nil {
		return tarEntry{}, fmt.Errorf("%w: %w: %s", ErrInvalidTarball, errMissingBlob, h)
	}
	return e, nil
}

// open returns a reader of the blob with digest h.
func (b layoutBlobs) open(h v1.Hash) (io.ReadCloser, error) {
	e, err := b.entry(h)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(io.NewSectionReader(b.ix.r, e.offset, e.size)), nil
}

// read returns the blob with digest h, refusing one over max bytes.
func (b layoutBlobs) read(h v1.Hash, max int64) ([]byte, error) {
	if _, err := b.entry(h); err != nil {
		return nil, err
	}
	return b.ix.readFile("blobs/"+h.Algorithm+"/"+h.Hex, max)
}

// Compile-time checks of the interfaces layoutImage is turned into.
var _ partial.CompressedImageCore = (*layoutImageCore)(nil)
