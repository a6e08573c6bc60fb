package cache

import (
	"context"

	"github.com/regapi/regapi/internal/registry"
)

// referrersSize estimates a referrers list: per referrer its descriptor,
// artifact type and annotations.
func referrersSize(r *registry.Referrers) int64 {
	n := int64(128)
	for _, d := range r.Manifests {
		n += 160 + int64(len(d.GetArtifactType()))
		for k, v := range d.GetAnnotations() {
			n += 2*stringOverhead + int64(len(k)+len(v))
		}
	}
	return n
}

// GetReferrers answers from a referrers entry keyed by the subject's
// digest (a tag resolves through its tag-to-digest entry). Referrers of
// even a digest change whenever someone signs or attests it, so the entry
// lives for the tag TTL: a new signature shows within it. Errors are never
// remembered as an empty list (a not-found subject is, for the negative
// TTL, as everywhere). The list is shared: callers must not modify it.
func (c *client) GetReferrers(ctx context.Context, reference string) (*registry.Referrers, error) {
	d, err := c.digest(ctx, reference)
	if err != nil {
		return nil, err
	}
	l := c.lookup(opReferrers, d, kindReferrers)
	l.ttl = c.cache.o.tagTTL
	if e := c.cache.hit(ctx, l.key); e != nil {
		if e.err != nil {
			return nil, e.err
		}
		return e.val.(*registry.Referrers), nil
	}
	v, err := c.cache.get(ctx, l, func(ctx context.Context) (any, int64, error) {
		r, err := c.inner.GetReferrers(ctx, "@"+d)
		if err != nil {
			return nil, 0, err
		}
		return r, referrersSize(r), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*registry.Referrers), nil
}
