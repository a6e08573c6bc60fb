package registry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
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
	return img, cl.end(ctx, nil, kindManifest)
}

// image fetches the manifest at reference and, on an index, the child for
// the requested (or default) platform.
func (c *client) image(ctx context.Context, reference string, opts []ImageGetOption) (*clientImage, error) {
	ref, err := c.reference(reference)
	if err != nil {
		return nil, err
	}
	desc, err := c.s.puller(ref).Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if desc.MediaType.IsIndex() {
		child, err := pickChild(desc.Manifest, *platformOf(opts, true))
		if err != nil {
			return nil, err
		}
		if desc, err = c.s.puller(ref).Get(ctx, ref.Context().Digest(child.Digest.String())); err != nil {
			return nil, err
		}
	}
	img, err := desc.Image()
	if err != nil {
		return nil, err
	}
	return c.wrapImage(ctx, ref.Context(), img), nil
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

// clientImage adds Extract to a remote image, and reads its config
// through readConfig: ggcr's remote image would read it whole at the size
// its manifest declares, for ConfigFile, RawConfigFile, a layer's DiffID
// and LayerByDiffID alike.
type clientImage struct {
	v1.Image
	// ctx is the context of the call that made the image: v1.Image's
	// methods take none, so, like ggcr's remote images, it reads lazily
	// with the caller's.
	ctx  context.Context
	c    *client
	repo name.Repository

	mu     sync.Mutex // guards config
	config []byte     // the raw config once read; a failed read is tried again
}

// wrapImage makes img, read from repo with ctx, a clientImage.
func (c *client) wrapImage(ctx context.Context, repo name.Repository, img v1.Image) *clientImage {
	return &clientImage{Image: img, ctx: ctx, c: c, repo: repo}
}

// RawConfigFile returns the config blob, read once through readConfig.
func (i *clientImage) RawConfigFile() ([]byte, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.config != nil {
		return i.config, nil
	}
	m, err := i.Manifest()
	if err != nil {
		return nil, err
	}
	b, err := i.c.readConfig(i.ctx, i.repo, m.Config)
	if err != nil {
		return nil, err
	}
	i.config = b
	return b, nil
}

// ConfigFile parses RawConfigFile.
func (i *clientImage) ConfigFile() (*v1.ConfigFile, error) {
	b, err := i.RawConfigFile()
	if err != nil {
		return nil, err
	}
	return parseConfig(b)
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
		out[j] = &clientLayer{Layer: l, img: i}
	}
	return out, nil
}

// LayerByDigest returns the layer with digest h, as Layers does.
func (i *clientImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, markRefusal(err)
	}
	return &clientLayer{Layer: l, img: i}, nil
}

// LayerByDiffID returns the layer whose uncompressed digest the config
// names d.
func (i *clientImage) LayerByDiffID(d v1.Hash) (v1.Layer, error) {
	h, err := partial.DiffIDToBlob(i, d)
	if err != nil {
		return nil, err
	}
	return i.LayerByDigest(h)
}

// clientLayer is a remote layer whose read errors go through markRefusal
// and whose DiffID comes from its image's bounded config.
type clientLayer struct {
	v1.Layer
	img *clientImage
}

// DiffID returns the uncompressed digest the image's config names for
// the layer.
func (l *clientLayer) DiffID() (v1.Hash, error) {
	h, err := l.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	return partial.BlobToDiffID(l.img, h)
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
