package cache

import (
	"context"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
)

// Wrap returns a client that answers from the cache and asks c when it must.
// name is the upstream's name as the HTTP layer knows it ("hub"); it starts
// every key, so the same repository on two upstreams never collides, and it
// is what Purge prefixes begin with. Clients derived with WithSegment share
// the cache.
//
// Reads of tags, repository lists, manifests, digests and configs are
// cached; GetImage and the writes pass through, and a write through a
// wrapped client drops what it changes.
func (c *Cache) Wrap(name string, inner registry.Client) registry.Client {
	return c.wrap(name, inner.GetRegistry(), inner)
}

func (c *Cache) wrap(name, base string, inner registry.Client) *client {
	loc := name
	if reg := inner.GetRegistry(); reg != base {
		if rel, ok := strings.CutPrefix(reg, base+"/"); ok {
			loc = name + "/" + rel
		} else if _, path, ok := strings.Cut(reg, "/"); ok {
			loc = name + "/" + path
		}
	}
	return &client{cache: c, inner: inner, name: name, base: base, loc: loc, prefix: loc + "\x00"}
}

// client is a registry.Client answering from a Cache.
type client struct {
	cache *Cache
	inner registry.Client
	name  string
	base  string // the wrapped base client's GetRegistry, to make loc relative
	loc   string // name + repository path, e.g. "hub/library/alpine"
	// prefix starts every key of this client. NUL cannot occur in names,
	// tags or digests, so keys cannot run into each other.
	prefix string
}

var _ registry.Client = (*client)(nil)

// Operations, the second part of a key.
const (
	opTags       = "tags"
	opTagsPage   = "tagsp"
	opRepos      = "repos"
	opReposPage  = "reposp"
	opRef        = "ref"   // reference -> digest
	opManifest   = "m"     // digest -> manifest
	opChild      = "child" // index digest + platform -> child manifest, when not derivable
	opDigestPlat = "dplat" // reference + platform -> digest, when not derivable
	opConfig     = "cfg"   // config digest -> config blob
	opReferrers  = "refs"  // subject digest -> referrers (tag TTL)
)

func (c *client) key(op, arg string) string { return c.prefix + op + "\x00" + arg }

func (c *client) lookup(op, arg string, k kind) lookup {
	return lookup{key: c.key(op, arg), loc: c.loc, kind: k}
}

// WithSegment returns the wrapped client of the longer path.
func (c *client) WithSegment(segments ...string) registry.Client {
	return c.cache.wrap(c.name, c.base, c.inner.WithSegment(segments...))
}

// GetRegistry returns the wrapped client's registry and path.
func (c *client) GetRegistry() string { return c.inner.GetRegistry() }

// GetImage passes through: images stream layers and are not cached.
func (c *client) GetImage(ctx context.Context, reference string, opts ...registry.ImageGetOption) (registry.ClientImage, error) {
	return c.inner.GetImage(ctx, reference, opts...)
}

// PushImage pushes, then drops what the push changed, even on failure (a
// failed push may have moved the tag).
func (c *client) PushImage(ctx context.Context, tag string, img v1.Image, opts ...registry.ImagePushOption) error {
	defer c.cache.invalidate(c.loc)
	return c.inner.PushImage(ctx, tag, img, opts...)
}

// PushIndex pushes, then drops what the push changed.
func (c *client) PushIndex(ctx context.Context, tag string, idx v1.ImageIndex, opts ...registry.ImagePushOption) error {
	defer c.cache.invalidate(c.loc)
	return c.inner.PushIndex(ctx, tag, idx, opts...)
}

// CopyImage passes through. When dst is a wrapped client, the copy goes to
// the client it wraps (the registry client may need its own type there) and
// the destination's entries are dropped afterwards.
func (c *client) CopyImage(ctx context.Context, reference string, dst registry.Client, dstTag string, opts ...registry.ImageGetOption) (*v1.Hash, error) {
	if w, ok := dst.(*client); ok {
		defer w.cache.invalidate(w.loc)
		dst = w.inner
	}
	return c.inner.CopyImage(ctx, reference, dst, dstTag, opts...)
}
