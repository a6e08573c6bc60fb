package transfer

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layoutIndex is an index of a verified OCI layout, read from the tar.
type layoutIndex struct {
	blobs layoutBlobs
	raw   []byte
	mt    types.MediaType
}

var _ v1.ImageIndex = (*layoutIndex)(nil)

// newLayoutIndex returns the index d describes.
func newLayoutIndex(b layoutBlobs, d v1.Descriptor) (*layoutIndex, error) {
	raw, err := b.read(d.Digest, maxMetadataBytes)
	if err != nil {
		return nil, err
	}
	return &layoutIndex{blobs: b, raw: raw, mt: d.MediaType}, nil
}

func (i *layoutIndex) MediaType() (types.MediaType, error) { return i.mt, nil }
func (i *layoutIndex) Digest() (v1.Hash, error)            { return partial.Digest(i) }
func (i *layoutIndex) Size() (int64, error)                { return int64(len(i.raw)), nil }
func (i *layoutIndex) RawManifest() ([]byte, error)        { return i.raw, nil }

func (i *layoutIndex) IndexManifest() (*v1.IndexManifest, error) {
	return v1.ParseIndexManifest(bytes.NewReader(i.raw))
}

// Image returns the child image with digest h.
func (i *layoutIndex) Image(h v1.Hash) (v1.Image, error) {
	d, err := i.child(h)
	if err != nil {
		return nil, err
	}
	if !d.MediaType.IsImage() {
		return nil, fmt.Errorf("%s is a %s, not an image", h, d.MediaType)
	}
	return newLayoutImage(i.blobs, d)
}

// ImageIndex returns the child index with digest h.
func (i *layoutIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	d, err := i.child(h)
	if err != nil {
		return nil, err
	}
	if !d.MediaType.IsIndex() {
		return nil, fmt.Errorf("%s is a %s, not an index", h, d.MediaType)
	}
	return newLayoutIndex(i.blobs, d)
}

func (i *layoutIndex) child(h v1.Hash) (v1.Descriptor, error) {
	im, err := i.IndexManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	for _, d := range im.Manifests {
		if d.Digest == h {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("%s not in index", h)
}

// layoutImageCore is an image of a verified OCI layout; partial turns it into
// a v1.Image.
type layoutImageCore struct {
	blobs layoutBlobs
	raw   []byte
	mt    types.MediaType
	m     *v1.Manifest
}

// newLayoutImage returns the image d describes.
func newLayoutImage(b layoutBlobs, d v1.Descriptor) (v1.Image, error) {
	raw, err := b.read(d.Digest, maxMetadataBytes)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, invalidf("manifest %s: %v", d.Digest, err)
	}
	return partial.CompressedToImage(&layoutImageCore{blobs: b, raw: raw, mt: d.MediaType, m: m})
}

func (c *layoutImageCore) MediaType() (types.MediaType, error) { return c.mt, nil }
func (c *layoutImageCore) RawManifest() ([]byte, error)        { return c.raw, nil }

func (c *layoutImageCore) RawConfigFile() ([]byte, error) {
	return c.blobs.read(c.m.Config.Digest, maxMetadataBytes)
}

// LayerByDigest returns the layer (or the config blob) with digest h.
func (c *layoutImageCore) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == c.m.Config.Digest {
		return &layoutLayer{blobs: c.blobs, desc: c.m.Config}, nil
	}
	for _, d := range c.m.Layers {
		if d.Digest == h {
			return &layoutLayer{blobs: c.blobs, desc: d}, nil
		}
	}
	return nil, fmt.Errorf("layer %s not in manifest", h)
}

// layoutLayer is one blob of a verified OCI layout.
type layoutLayer struct {
	blobs layoutBlobs
	desc  v1.Descriptor
}

func (l *layoutLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *layoutLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *layoutLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *layoutLayer) Descriptor() (*v1.Descriptor, error) { return &l.desc, nil }
func (l *layoutLayer) Compressed() (io.ReadCloser, error)  { return l.blobs.open(l.desc.Digest) }
