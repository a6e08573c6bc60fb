package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// GetManifest returns the manifest at reference byte for byte. Without
// WithPlatform an index is returned as the index; with it, the matching
// child manifest.
func (c *client) GetManifest(ctx context.Context, reference string, opts ...ImageGetOption) (ManifestResult, error) {
	ctx, cl := c.begin(ctx, "get manifest", reference)
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	desc, err := c.manifest(ctx, reference, platformOf(opts, false))
	if err != nil {
		return nil, cl.end(ctx, err, kindManifest)
	}
	return NewManifestResult(desc.Manifest, desc.MediaType, desc.Digest), cl.end(ctx, nil, kindManifest)
}

// manifest fetches the manifest at reference; with want set and an index
// served, it fetches the child for want instead.
func (c *client) manifest(ctx context.Context, reference string, want *v1.Platform) (*remote.Descriptor, error) {
	ref, err := c.reference(reference)
	if err != nil {
		return nil, err
	}
	desc, err := c.s.puller(ref).Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if int64(len(desc.Manifest)) > c.s.opts.MaxManifestBytes {
		return nil, fmt.Errorf("%w: %d bytes, cap %d", ErrManifestTooLarge, len(desc.Manifest), c.s.opts.MaxManifestBytes)
	}
	if want == nil || !desc.MediaType.IsIndex() {
		return desc, nil
	}
	child, err := pickChild(desc.Manifest, *want)
	if err != nil {
		return nil, err
	}
	return c.manifest(ctx, "@"+child.Digest.String(), nil)
}

// GetDigest returns the digest reference points at: one HEAD request, or
// with WithPlatform the digest of the matching index entry.
func (c *client) GetDigest(ctx context.Context, reference string, opts ...ImageGetOption) (*v1.Hash, error) {
	ctx, cl := c.begin(ctx, "get digest", reference)
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	h, err := c.digest(ctx, reference, platformOf(opts, false))
	return h, cl.end(ctx, err, kindManifest)
}

func (c *client) digest(ctx context.Context, reference string, want *v1.Platform) (*v1.Hash, error) {
	ref, err := c.reference(reference)
	if err != nil {
		return nil, err
	}
	if want == nil {
		d, err := c.head(ctx, ref)
		if err != nil {
			return nil, err
		}
		return &d.Digest, nil
	}
	desc, err := c.s.puller(ref).Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		return &desc.Digest, nil
	}
	child, err := pickChild(desc.Manifest, *want)
	if err != nil {
		return nil, err
	}
	return &child.Digest, nil
}

// head issues a HEAD for ref. A registry that answers HEAD without a
// digest (or with a non-registry error) gets a GET instead.
func (c *client) head(ctx context.Context, ref name.Reference) (*v1.Descriptor, error) {
	d, err := c.s.puller(ref).Head(ctx, ref)
	var terr *transport.Error
	if err == nil || errors.As(err, &terr) || ctx.Err() != nil {
		return d, err
	}
	desc, gerr := c.s.puller(ref).Get(ctx, ref)
	if gerr != nil {
		return nil, gerr
	}
	return &desc.Descriptor, nil
}

// CheckImageExists returns nil when reference exists (one HEAD request).
func (c *client) CheckImageExists(ctx context.Context, reference string) error {
	ctx, cl := c.begin(ctx, "check image", reference)
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	ref, err := c.reference(reference)
	if err == nil {
		_, err = c.head(ctx, ref)
	}
	err = cl.end(ctx, err, kindManifest)
	if errors.Is(err, ErrImageNotFound) {
		// Absence is an answer, not a failure: callers may compare with ==.
		return ErrImageNotFound
	}
	return err
}

// GetImageConfig returns the parsed config of the image at reference (an
// index resolves to WithPlatform's platform, default linux/amd64).
func (c *client) GetImageConfig(ctx context.Context, reference string, opts ...ImageGetOption) (*v1.ConfigFile, error) {
	ctx, cl := c.begin(ctx, "get config", reference)
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	img, err := c.image(ctx, reference, opts)
	if err != nil {
		return nil, cl.end(ctx, err, kindManifest)
	}
	cf, err := img.ConfigFile() // bounded: readConfig
	return cf, cl.end(ctx, err, kindManifest)
}

// GetConfigBlob returns the config blob exactly as stored. With
// WithManifest it reads the config that manifest names: one request.
func (c *client) GetConfigBlob(ctx context.Context, reference string, opts ...ImageGetOption) ([]byte, error) {
	ctx, cl := c.begin(ctx, "get config blob", reference)
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	if b, ok, err := c.configOf(ctx, reference, opts); ok {
		return b, cl.end(ctx, err, kindManifest)
	}
	img, err := c.image(ctx, reference, opts)
	if err != nil {
		return nil, cl.end(ctx, err, kindManifest)
	}
	b, err := img.RawConfigFile() // bounded: readConfig
	return b, cl.end(ctx, err, kindManifest)
}

// configOf reads the config blob named by a manifest handed over with
// WithManifest, through readConfig. ok is false when the option does not
// apply.
func (c *client) configOf(ctx context.Context, reference string, opts []ImageGetOption) (b []byte, ok bool, err error) {
	o := optionsOf(opts, ImageGetOption.applyImageGet)
	m := o.manifest
	if m == nil || o.platform != nil || m.GetDescriptor().GetMediaType().IsIndex() {
		return nil, false, nil
	}
	ref, err := c.reference(reference)
	if err != nil {
		return nil, true, err
	}
	d, isDigest := ref.(name.Digest)
	if !isDigest || d.DigestStr() != m.GetDescriptor().GetDigest().String() {
		return nil, false, nil
	}
	mf, err := m.GetManifest()
	if err != nil {
		return nil, false, nil // the usual path says what is wrong with it
	}
	b, err = c.readConfig(ctx, ref.Context(), mf.m.Config)
	return b, true, err
}
