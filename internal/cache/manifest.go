package cache

import (
	"context"
	"errors"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
)

// digestSize is the payload of a reference-to-digest entry ("sha256:" and 64
// hex digits, in a string header).
const digestSize = 7 + 64 + stringOverhead

var errNoDigest = errors.New("registry returned no digest")

// GetManifest answers a tag through a tag-to-digest entry (tag TTL) and a
// digest-to-manifest entry (no TTL). With WithPlatform and an index, the
// child is picked from the cached index and fetched by digest.
func (c *client) GetManifest(ctx context.Context, reference string, opts ...registry.ImageGetOption) (registry.ManifestResult, error) {
	p, known := platformOf(opts)
	if !known {
		return c.inner.GetManifest(ctx, reference, opts...)
	}
	h, err := c.manifest(ctx, reference)
	if err == nil && p != nil {
		h, err = c.child(ctx, h, p)
	}
	if err != nil {
		return nil, err
	}
	return h.m, nil
}

// GetDigest answers from the tag-to-digest entry, or with WithPlatform from
// the cached index when there is one; otherwise it asks the registry (a HEAD,
// cheaper than fetching the manifest).
func (c *client) GetDigest(ctx context.Context, reference string, opts ...registry.ImageGetOption) (*v1.Hash, error) {
	p, known := platformOf(opts)
	if !known {
		return c.inner.GetDigest(ctx, reference, opts...)
	}
	var d string
	var err error
	if p != nil {
		d, err = c.platformDigest(ctx, reference, p)
	} else {
		d, err = c.digest(ctx, reference)
	}
	if err != nil {
		return nil, err
	}
	h, err := v1.NewHash(d)
	if err != nil {
		return nil, err
	}
	return &h, nil
}

// CheckImageExists answers from the same entries as GetDigest.
func (c *client) CheckImageExists(ctx context.Context, reference string) error {
	_, err := c.digest(ctx, reference)
	if errors.Is(err, registry.ErrImageNotFound) {
		// As the client does: absence is the plain sentinel.
		return registry.ErrImageNotFound
	}
	return err
}

// manifest returns the manifest reference names, as served (an index stays
// an index).
func (c *client) manifest(ctx context.Context, reference string) (*heldManifest, error) {
	d, ok := digestOf(reference)
	if !ok {
		key := c.key(opRef, reference)
		if v, ok := c.cache.peek(ctx, key); ok {
			return c.manifestByDigest(ctx, v.(string))
		}
		// Revalidating an expired tag whose manifest is still held needs
		// only a HEAD (which Docker Hub does not count against its rate
		// limit); a GET is for tags the cache has not seen.
		fetch := true
		if old, ok := c.cache.held(key); ok {
			_, held := c.cache.held(c.key(opManifest, old.(string)))
			fetch = !held
		}
		var err error
		if d, err = c.resolve(ctx, reference, fetch); err != nil {
			return nil, err
		}
	}
	return c.manifestByDigest(ctx, d)
}

// resolve returns the digest a tag points at, remembered for the tag TTL.
// With fetch, a miss GETs the manifest and keeps it under its digest, since
// the caller wants it next; otherwise a miss is a HEAD.
func (c *client) resolve(ctx context.Context, tag string, fetch bool) (string, error) {
	l := c.lookup(opRef, tag, kindDigest)
	if e := c.cache.hit(ctx, l.key); e != nil {
		if e.err != nil {
			return "", e.err
		}
		return e.val.(string), nil
	}
	l.ttl = c.cache.o.tagTTL
	v, err := c.cache.get(ctx, l, func(ctx context.Context) (any, int64, error) {
		if !fetch {
			h, err := c.inner.GetDigest(ctx, tag)
			if err != nil {
				return nil, 0, err
			}
			if h == nil {
				return nil, 0, errNoDigest
			}
			return h.String(), digestSize, nil
		}
		m, err := c.inner.GetManifest(ctx, tag)
		if err != nil {
			return nil, 0, err
		}
		h := holdManifest(m)
		d := h.digest()
		ml := c.lookup(opManifest, d, kindManifest)
		ml.immutable = true
		c.cache.put(ctx, ml, h, h.size())
		return d, digestSize, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// manifestByDigest returns the manifest with digest d; it never expires.
func (c *client) manifestByDigest(ctx context.Context, d string) (*heldManifest, error) {
	l := c.lookup(opManifest, d, kindManifest)
	if e := c.cache.hit(ctx, l.key); e != nil {
		if e.err != nil {
			return nil, e.err
		}
		return e.val.(*heldManifest), nil
	}
	l.immutable = true
	return c.loadManifest(ctx, l, "@"+d)
}

// loadManifest gets the manifest at reference under l.
func (c *client) loadManifest(ctx context.Context, l lookup, reference string, opts ...registry.ImageGetOption) (*heldManifest, error) {
	v, err := c.cache.get(ctx, l, func(ctx context.Context) (any, int64, error) {
		m, err := c.inner.GetManifest(ctx, reference, opts...)
		if err != nil {
			return nil, 0, err
		}
		h := holdManifest(m)
		return h, h.size(), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*heldManifest), nil
}

// child returns the manifest for platform p (nil: linux/amd64): top itself
// unless top is an index. A child that the cache cannot pick itself is asked
// of the registry by the index's digest, so that the answer matches the
// cached index.
func (c *client) child(ctx context.Context, top *heldManifest, p *v1.Platform) (*heldManifest, error) {
	if p == nil {
		p = &registry.DefaultPlatform
	}
	if !top.isIndex() {
		return top, nil
	}
	if d, ok := top.childDigest(p); ok {
		return c.manifestByDigest(ctx, d)
	}
	idx := top.digest()
	l := c.lookup(opChild, idx+"\x00"+platformKey(p), kindManifest)
	l.immutable = true
	if e := c.cache.hit(ctx, l.key); e != nil {
		if e.err != nil {
			return nil, e.err
		}
		return e.val.(*heldManifest), nil
	}
	return c.loadManifest(ctx, l, "@"+idx, registry.WithPlatform{Platform: p})
}

// digest returns the digest reference names, for GetDigest and
// CheckImageExists. A digest reference still needs an existence check, unless
// its manifest is cached.
func (c *client) digest(ctx context.Context, reference string) (string, error) {
	d, ok := digestOf(reference)
	if !ok {
		return c.resolve(ctx, reference, false)
	}
	if _, ok := c.cache.peek(ctx, c.key(opManifest, d)); ok {
		return d, nil
	}
	l := c.lookup(opRef, d, kindDigest)
	l.immutable = true
	_, err := c.cache.get(ctx, l, func(ctx context.Context) (any, int64, error) {
		_, err := c.inner.GetDigest(ctx, "@"+d)
		return d, digestSize, err
	})
	return d, err
}

// platformDigest returns the digest of p's manifest under reference: derived
// from a cached index when there is one, otherwise asked of the registry and
// remembered like the reference itself.
func (c *client) platformDigest(ctx context.Context, reference string, p *v1.Platform) (string, error) {
	if top, ok := c.peekManifest(ctx, reference); ok {
		if !top.isIndex() {
			return top.digest(), nil
		}
		if d, ok := top.childDigest(p); ok {
			return d, nil
		}
	}
	l := c.lookup(opDigestPlat, reference+"\x00"+platformKey(p), kindDigest)
	if _, ok := digestOf(reference); ok {
		l.immutable = true
	} else {
		l.ttl = c.cache.o.tagTTL
	}
	v, err := c.cache.get(ctx, l, func(ctx context.Context) (any, int64, error) {
		h, err := c.inner.GetDigest(ctx, reference, registry.WithPlatform{Platform: p})
		if err != nil {
			return nil, 0, err
		}
		if h == nil {
			return nil, 0, errNoDigest
		}
		return h.String(), digestSize, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// peekManifest returns the manifest reference names if memory holds it
// fresh, without asking the registry.
func (c *client) peekManifest(ctx context.Context, reference string) (*heldManifest, bool) {
	d, ok := digestOf(reference)
	if !ok {
		v, ok := c.cache.peek(ctx, c.key(opRef, reference))
		if !ok {
			return nil, false
		}
		d = v.(string)
	}
	v, ok := c.cache.peek(ctx, c.key(opManifest, d))
	if !ok {
		return nil, false
	}
	return v.(*heldManifest), true
}
