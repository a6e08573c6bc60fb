package registry

import (
	"bytes"
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// GetImage resolves reference to an image; an index resolves to the
// platform of WithPlatform (default linux/amd64). The image reads its
// config and layers lazily with ctx, so ctx must outlive their use and
// Options.Timeout does not apply.
func (c *client) GetImage(ctx context.Context, reference string, opts ...ImageGetOption) (ClientImage, error) {
	ctx, cl := c.begin(ctx, "get image", reference)
	img, err := c.image(ctx, reference, opts)
	if err != nil {
		return nil, cl.end(ctx, err, kindManifest)
	}
	return &clientImage{Image: img}, cl.end(ctx, nil, kindManifest)
}

// image fetches the manifest at reference and, on an index, the child for
// the requested (or default) platform.
func (c *client) image(ctx context.Context, reference string, opts []ImageGetOption) (v1.Image, error) {
	ref, err := c.reference(reference)
	if err != nil {
		return nil, err
	}
	desc, err := c.s.puller(ref).Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		return desc.Image()
	}
	want := platformOf(opts, true)
	child, err := pickChild(desc.Manifest, *want)
	if err != nil {
		return nil, err
	}
	desc, err = c.s.puller(ref).Get(ctx, ref.Context().Digest(child.Digest.String()))
	if err != nil {
		return nil, err
	}
	return desc.Image()
}

// platformOf returns WithPlatform's platform; when absent (or nil) it is the
// default platform if withDefault, else nil.
func platformOf(opts []ImageGetOption, withDefault bool) *v1.Platform {
	p := optionsOf(opts, ImageGetOption.applyImageGet).platform
	if p == nil && withDefault {
		d := DefaultPlatform
		return &d
	}
	return p
}

// pickChild finds the entry of the raw index for want (PickPlatform).
func pickChild(rawIndex []byte, want v1.Platform) (v1.Descriptor, error) {
	idx, err := parseIndex(rawIndex)
	if err != nil {
		return v1.Descriptor{}, err
	}
	platforms := make([]*v1.Platform, len(idx.Manifests))
	for i, d := range idx.Manifests {
		platforms[i] = d.Platform
	}
	i, err := PickPlatform(platforms, want)
	if err != nil {
		return v1.Descriptor{}, err
	}
	return idx.Manifests[i], nil
}

func parseIndex(raw []byte) (*v1.IndexManifest, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse index: %w", err)
	}
	return im, nil
}

// clientImage adds Extract to a remote image.
type clientImage struct {
	v1.Image
}

// Layers returns the image's layers; their blob reads mark ggcr's refusals
// of what the registry sent (a foreign layer URL at a private address) as
// ErrUpstreamInvalid, as the client's calls do.
func (i *clientImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, markRefusal(err)
	}
	out := make([]v1.Layer, len(ls))
	for j, l := range ls {
		out[j] = &clientLayer{Layer: l}
	}
	return out, nil
}

// clientLayer is a remote layer whose read errors go through markRefusal.
type clientLayer struct {
	v1.Layer
}

func (l *clientLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	return rc, markRefusal(err)
}

func (l *clientLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Uncompressed()
	return rc, markRefusal(err)
}

// Extract returns the flattened filesystem as a tar stream (whiteouts and
// opaque directories applied, as mutate.Extract does). A failure shows up as
// a read error.
func (i *clientImage) Extract() io.ReadCloser {
	return mutate.Extract(i.Image)
}
