package cache

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
)

// GetConfigBlob resolves the image through the cached manifests (an index
// picks WithPlatform's platform, default linux/amd64) and answers from a
// config entry keyed by the config's digest, which never expires. The
// slice is the caller's own.
func (c *client) GetConfigBlob(ctx context.Context, reference string, opts ...registry.ImageGetOption) ([]byte, error) {
	b, err := c.configBlob(ctx, reference, opts)
	if err != nil {
		return nil, err
	}
	return slices.Clone(b), nil
}

// GetImageConfig parses the cached config blob.
func (c *client) GetImageConfig(ctx context.Context, reference string, opts ...registry.ImageGetOption) (*v1.ConfigFile, error) {
	b, err := c.configBlob(ctx, reference, opts)
	if err != nil {
		return nil, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parse config of %s: %w", reference, err)
	}
	return cf, nil
}

// configBlob returns the cached blob itself; callers must not modify it.
func (c *client) configBlob(ctx context.Context, reference string, opts []registry.ImageGetOption) ([]byte, error) {
	p, known := platformOf(opts)
	if !known {
		return c.inner.GetConfigBlob(ctx, reference, opts...)
	}
	top, err := c.manifest(ctx, reference)
	if err != nil {
		return nil, err
	}
	img, err := c.child(ctx, top, p)
	if err != nil {
		return nil, err
	}
	img.parse()
	if img.err != nil || img.isIndex() {
		// Not an image manifest the cache can read (a schema 1 manifest,
		// say): the client knows how to find its config.
		Observe(ctx, StatusMiss, 0)
		return c.inner.GetConfigBlob(ctx, reference, opts...)
	}
	key := c.key(opConfig, img.config)
	if e := c.cache.hit(ctx, key); e != nil {
		if e.err != nil {
			return nil, e.err
		}
		return e.val.([]byte), nil
	}
	l := lookup{key: key, loc: c.loc, kind: kindConfig, immutable: true}
	imgDigest, held := img.digest(), img.m
	v, err := c.cache.get(ctx, l, func(ctx context.Context) (any, int64, error) {
		// The manifest is in hand: the client fetches only the blob.
		b, err := c.inner.GetConfigBlob(ctx, "@"+imgDigest, registry.WithManifest{Manifest: held})
		return b, int64(len(b)) + 24, err
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}
