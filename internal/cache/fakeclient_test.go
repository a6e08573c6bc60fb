package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
)

// fakeClient is the registry.Client of one path of a fakeUpstream.
type fakeClient struct {
	up   *fakeUpstream
	path string
}

var _ registry.Client = (*fakeClient)(nil)

func (c *fakeClient) WithSegment(segments ...string) registry.Client {
	parts := append([]string{}, segments...)
	if c.path != "" {
		parts = append([]string{c.path}, parts...)
	}
	return &fakeClient{up: c.up, path: strings.Join(parts, "/")}
}

func (c *fakeClient) GetRegistry() string {
	if c.path == "" {
		return c.up.host
	}
	return c.up.host + "/" + c.path
}

// resolve finds a manifest by tag or digest; with a platform, an index
// yields its first child whose platform satisfies the one asked for.
func (c *fakeClient) resolve(ref string, opts []registry.ImageGetOption) (registry.ManifestResult, error) {
	c.up.mu.Lock()
	defer c.up.mu.Unlock()
	r, ok := c.up.repos[c.path]
	if !ok {
		return nil, fmt.Errorf("fake %s: %w", c.path, registry.ErrRepositoryNotFound)
	}
	d, isDigest := digestOf(ref)
	if !isDigest {
		if d, ok = r.tags[ref]; !ok {
			return nil, fmt.Errorf("fake %s:%s: %w", c.path, ref, registry.ErrImageNotFound)
		}
	}
	m, ok := r.manifests[d]
	if !ok {
		return nil, fmt.Errorf("fake %s@%s: %w", c.path, d, registry.ErrImageNotFound)
	}
	p := registry.PlatformOf(opts...)
	if p == nil || !m.GetDescriptor().GetMediaType().IsIndex() {
		return m, nil
	}
	idx, err := m.GetIndexManifest()
	if err != nil {
		return nil, err
	}
	for _, child := range idx.GetManifests() {
		if cp := child.GetPlatform(); cp != nil && cp.Satisfies(*p) {
			return r.manifests[child.GetDigest().String()], nil
		}
	}
	return nil, &registry.PlatformNotFoundError{Platform: *p}
}

func (c *fakeClient) GetManifest(ctx context.Context, ref string, opts ...registry.ImageGetOption) (registry.ManifestResult, error) {
	if err := c.up.enter(ctx, "GetManifest "+c.path+" "+ref); err != nil {
		return nil, err
	}
	return c.resolve(ref, opts)
}

func (c *fakeClient) GetDigest(ctx context.Context, ref string, opts ...registry.ImageGetOption) (*v1.Hash, error) {
	if err := c.up.enter(ctx, "GetDigest "+c.path+" "+ref); err != nil {
		return nil, err
	}
	m, err := c.resolve(ref, opts)
	if err != nil {
		return nil, err
	}
	h := m.GetDescriptor().GetDigest()
	return &h, nil
}

func (c *fakeClient) GetConfigBlob(ctx context.Context, ref string, opts ...registry.ImageGetOption) ([]byte, error) {
	if err := c.up.enter(ctx, "GetConfigBlob "+c.path+" "+ref); err != nil {
		return nil, err
	}
	if registry.PlatformOf(opts...) == nil {
		opts = []registry.ImageGetOption{registry.WithPlatform{Platform: &defaultPlatform}}
	}
	m, err := c.resolve(ref, opts)
	if err != nil {
		return nil, err
	}
	c.up.mu.Lock()
	defer c.up.mu.Unlock()
	return slices.Clone(c.up.configs[m.GetDescriptor().GetDigest().String()]), nil
}

func (c *fakeClient) GetImageConfig(ctx context.Context, ref string, opts ...registry.ImageGetOption) (*v1.ConfigFile, error) {
	b, err := c.GetConfigBlob(ctx, ref, opts...)
	if err != nil {
		return nil, err
	}
	return v1.ParseConfigFile(bytes.NewReader(b))
}

func (c *fakeClient) CheckImageExists(ctx context.Context, ref string) error {
	if err := c.up.enter(ctx, "CheckImageExists "+c.path+" "+ref); err != nil {
		return err
	}
	_, err := c.resolve(ref, nil)
	return err
}

func (c *fakeClient) GetImage(ctx context.Context, ref string, opts ...registry.ImageGetOption) (registry.ClientImage, error) {
	if err := c.up.enter(ctx, "GetImage "+c.path+" "+ref); err != nil {
		return nil, err
	}
	return nil, errors.New("fake: GetImage not supported")
}

// PushImage stores img's manifest and config under tag.
func (c *fakeClient) PushImage(ctx context.Context, tag string, img v1.Image, _ ...registry.ImagePushOption) error {
	if err := c.up.enter(ctx, "PushImage "+c.path+" "+tag); err != nil {
		return err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	d := sha(raw)
	c.up.mu.Lock()
	defer c.up.mu.Unlock()
	r := c.up.repo(c.path)
	r.manifests[d.String()] = registry.NewManifestResult(raw, mt, d)
	r.tags[tag] = d.String()
	c.up.configs[d.String()] = cfg
	return nil
}

func (c *fakeClient) PushIndex(ctx context.Context, tag string, _ v1.ImageIndex, _ ...registry.ImagePushOption) error {
	return c.up.enter(ctx, "PushIndex "+c.path+" "+tag)
}

// GetReferrers answers an empty list from the "API" for any manifest the
// fake holds.
func (c *fakeClient) GetReferrers(ctx context.Context, ref string) (*registry.Referrers, error) {
	if err := c.up.enter(ctx, "GetReferrers "+c.path+" "+ref); err != nil {
		return nil, err
	}
	m, err := c.resolve(ref, nil)
	if err != nil {
		return nil, err
	}
	return &registry.Referrers{Subject: m.GetDescriptor().GetDigest(), Source: registry.ReferrersAPI, Manifests: []registry.Descriptor{}}, nil
}

// CopyImage copies a manifest by tag; dst must be a *fakeClient, as a real
// client may require of its own type.
func (c *fakeClient) CopyImage(ctx context.Context, ref string, dst registry.Client, dstTag string, opts ...registry.ImageGetOption) (*v1.Hash, error) {
	if err := c.up.enter(ctx, "CopyImage "+c.path+" "+ref); err != nil {
		return nil, err
	}
	fd, ok := dst.(*fakeClient)
	if !ok {
		return nil, fmt.Errorf("fake: CopyImage dst is %T, want *fakeClient", dst)
	}
	m, err := c.resolve(ref, opts)
	if err != nil {
		return nil, err
	}
	d := m.GetDescriptor().GetDigest()
	c.up.mu.Lock()
	defer c.up.mu.Unlock()
	r := c.up.repo(fd.path)
	r.manifests[d.String()] = m
	r.tags[dstTag] = d.String()
	return &d, nil
}

func (c *fakeClient) tags() []string {
	c.up.mu.Lock()
	defer c.up.mu.Unlock()
	r, ok := c.up.repos[c.path]
	if !ok {
		return nil
	}
	return slices.Sorted(maps.Keys(r.tags))
}

func (c *fakeClient) ListTags(ctx context.Context, opts ...registry.ListTagsOption) ([]string, error) {
	if err := c.up.enter(ctx, "ListTags "+c.path); err != nil {
		return nil, err
	}
	p, err := c.tagsPage(opts)
	if err != nil {
		return nil, err
	}
	return p.Items, nil
}

func (c *fakeClient) ListTagsPage(ctx context.Context, opts ...registry.ListTagsOption) (*registry.Page, error) {
	if err := c.up.enter(ctx, "ListTagsPage "+c.path); err != nil {
		return nil, err
	}
	return c.tagsPage(opts)
}

func (c *fakeClient) tagsPage(opts []registry.ListTagsOption) (*registry.Page, error) {
	c.up.mu.Lock()
	_, ok := c.up.repos[c.path]
	c.up.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("fake %s: %w", c.path, registry.ErrRepositoryNotFound)
	}
	limit, last := registry.TagsPageOf(opts...)
	return page(c.tags(), limit, last), nil
}

func (c *fakeClient) repositories() []string {
	c.up.mu.Lock()
	defer c.up.mu.Unlock()
	var out []string
	for p := range c.up.repos {
		if c.path == "" || p == c.path || strings.HasPrefix(p, c.path+"/") {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (c *fakeClient) ListRepositories(ctx context.Context, opts ...registry.ListRepositoriesOption) ([]string, error) {
	if err := c.up.enter(ctx, "ListRepositories "+c.path); err != nil {
		return nil, err
	}
	limit, last := registry.ReposPageOf(opts...)
	return page(c.repositories(), limit, last).Items, nil
}

func (c *fakeClient) ListRepositoriesPage(ctx context.Context, opts ...registry.ListRepositoriesOption) (*registry.Page, error) {
	if err := c.up.enter(ctx, "ListRepositoriesPage "+c.path); err != nil {
		return nil, err
	}
	limit, last := registry.ReposPageOf(opts...)
	return page(c.repositories(), limit, last), nil
}

func page(all []string, limit int, last string) *registry.Page {
	if last != "" {
		i, _ := slices.BinarySearch(all, last)
		for i < len(all) && all[i] <= last {
			i++
		}
		all = all[i:]
	}
	p := &registry.Page{Items: all}
	if limit > 0 && len(all) > limit {
		p.Items = all[:limit]
		p.Next = all[limit-1]
	}
	return p
}
