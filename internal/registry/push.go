package registry

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushImage uploads img with its blobs (skipping those the registry has) and
// tags it. tag may also be a digest ("@sha256:…"), which pushes untagged.
func (c *client) PushImage(ctx context.Context, tag string, img v1.Image, _ ...ImagePushOption) error {
	ctx, cl := c.begin(ctx, "push image", tag)
	return cl.end(ctx, c.push(ctx, tag, img), kindManifest)
}

// PushIndex uploads idx with every child and their blobs, and tags it.
func (c *client) PushIndex(ctx context.Context, tag string, idx v1.ImageIndex, _ ...ImagePushOption) error {
	ctx, cl := c.begin(ctx, "push index", tag)
	return cl.end(ctx, c.push(ctx, tag, idx), kindManifest)
}

func (c *client) push(ctx context.Context, tag string, t remote.Taggable) error {
	ref, err := c.reference(tag)
	if err != nil {
		return err
	}
	return c.s.pusher(ref).Push(ctx, ref, t)
}

// CopyImage copies the manifest at reference with everything it references
// to dst under dstTag and returns the digest written. An index is copied
// whole, unless WithPlatform picks one of its children; a single image
// named with WithPlatform must have that platform (PlatformNotFoundError). Blobs stream from
// this registry to dst's; a blob dst already has is not uploaded again.
func (c *client) CopyImage(ctx context.Context, reference string, dst Client, dstTag string, opts ...ImageGetOption) (*v1.Hash, error) {
	ctx, cl := c.begin(ctx, "copy image", reference)
	h, err := c.copyTo(ctx, reference, dst, dstTag, platformOf(opts, false))
	return h, cl.end(ctx, err, kindManifest)
}

func (c *client) copyTo(ctx context.Context, reference string, dst Client, dstTag string, want *v1.Platform) (*v1.Hash, error) {
	desc, err := c.manifest(ctx, reference, want)
	if err != nil {
		return nil, err
	}
	if dstTag == "" {
		dstTag = "@" + desc.Digest.String()
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		if err := dst.PushIndex(ctx, dstTag, idx); err != nil {
			return nil, err
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			return nil, err
		}
		if want != nil {
			// A platform named for a single image must be its own. The
			// config is read through readConfig; img itself goes to the
			// push unwrapped, so that ggcr streams its blobs (the config
			// too) and mounts them across repositories.
			repo, err := c.repository()
			if err != nil {
				return nil, err
			}
			cf, err := c.wrapImage(ctx, repo, img).ConfigFile()
			if err != nil {
				return nil, err
			}
			own := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
			if _, err := PickPlatform([]*v1.Platform{&own}, *want); err != nil {
				return nil, err
			}
		}
		if err := dst.PushImage(ctx, dstTag, img); err != nil {
			return nil, err
		}
	}
	return &desc.Digest, nil
}
