package cache

import (
	"context"
	"slices"
	"strconv"

	"github.com/regapi/regapi/internal/registry"
)

// ListTags returns the tags from memory while the tag-list TTL lasts. The
// slice is the caller's own.
func (c *client) ListTags(ctx context.Context, opts ...registry.ListTagsOption) ([]string, error) {
	l := c.lookup(opTags, tagsKey(opts), kindTags)
	l.ttl = c.cache.o.tagListTTL
	if e := c.cache.hit(ctx, l.key); e != nil {
		if e.err != nil {
			return nil, e.err
		}
		return slices.Clone(e.val.([]string)), nil
	}
	v, err := c.cache.get(ctx, l, func(ctx context.Context) (any, int64, error) {
		tags, err := c.inner.ListTags(ctx, opts...)
		return tags, namesSize(tags), err
	})
	if err != nil {
		return nil, err
	}
	return slices.Clone(v.([]string)), nil
}

// ListTagsPage returns one page of tags from memory while the tag-list TTL
// lasts. The page is the caller's own.
func (c *client) ListTagsPage(ctx context.Context, opts ...registry.ListTagsOption) (*registry.Page, error) {
	l := c.lookup(opTagsPage, tagsKey(opts), kindTags)
	l.ttl = c.cache.o.tagListTTL
	if e := c.cache.hit(ctx, l.key); e != nil {
		if e.err != nil {
			return nil, e.err
		}
		return clonePage(e.val.(*registry.Page)), nil
	}
	v, err := c.cache.get(ctx, l, func(ctx context.Context) (any, int64, error) {
		p, err := c.inner.ListTagsPage(ctx, opts...)
		return p, pageSize(p), err
	})
	if err != nil {
		return nil, err
	}
	return clonePage(v.(*registry.Page)), nil
}

// ListRepositories returns the repositories below this path from memory
// while the repository-list TTL lasts. The slice is the caller's own.
func (c *client) ListRepositories(ctx context.Context, opts ...registry.ListRepositoriesOption) ([]string, error) {
	l := c.lookup(opRepos, reposKey(opts), kindRepositories)
	l.ttl = c.cache.o.repoListTTL
	if e := c.cache.hit(ctx, l.key); e != nil {
		if e.err != nil {
			return nil, e.err
		}
		return slices.Clone(e.val.([]string)), nil
	}
	v, err := c.cache.get(ctx, l, func(ctx context.Context) (any, int64, error) {
		repos, err := c.inner.ListRepositories(ctx, opts...)
		return repos, namesSize(repos), err
	})
	if err != nil {
		return nil, err
	}
	return slices.Clone(v.([]string)), nil
}

// ListRepositoriesPage returns one page of repositories from memory while
// the repository-list TTL lasts. The page is the caller's own.
func (c *client) ListRepositoriesPage(ctx context.Context, opts ...registry.ListRepositoriesOption) (*registry.Page, error) {
	l := c.lookup(opReposPage, reposKey(opts), kindRepositories)
	l.ttl = c.cache.o.repoListTTL
	if e := c.cache.hit(ctx, l.key); e != nil {
		if e.err != nil {
			return nil, e.err
		}
		return clonePage(e.val.(*registry.Page)), nil
	}
	v, err := c.cache.get(ctx, l, func(ctx context.Context) (any, int64, error) {
		p, err := c.inner.ListRepositoriesPage(ctx, opts...)
		return p, pageSize(p), err
	})
	if err != nil {
		return nil, err
	}
	return clonePage(v.(*registry.Page)), nil
}

// tagsKey and reposKey are the key arguments of listings. Without options
// they skip the registry's helpers, which allocate on every call.
func tagsKey(opts []registry.ListTagsOption) string {
	if len(opts) == 0 {
		return ""
	}
	return pageKey(registry.TagsPageOf(opts...))
}

func reposKey(opts []registry.ListRepositoriesOption) string {
	if len(opts) == 0 {
		return ""
	}
	return pageKey(registry.ReposPageOf(opts...))
}

// pageKey is the key argument of a listing: limit and last cursor.
func pageKey(limit int, last string) string {
	if limit == 0 && last == "" {
		return ""
	}
	return strconv.Itoa(limit) + "\x00" + last
}

func clonePage(p *registry.Page) *registry.Page {
	if p == nil {
		return nil
	}
	return &registry.Page{Items: slices.Clone(p.Items), Next: p.Next}
}

// stringOverhead is a string header in a slice.
const stringOverhead = 16

func namesSize(names []string) int64 {
	n := int64(24) // slice header
	for _, s := range names {
		n += stringOverhead + int64(len(s))
	}
	return n
}

func pageSize(p *registry.Page) int64 {
	if p == nil {
		return 0
	}
	return namesSize(p.Items) + stringOverhead + int64(len(p.Next))
}
