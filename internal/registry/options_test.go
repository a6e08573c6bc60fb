package registry_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// TestSeedOptionShapes: the seed contract's call shapes compile as the seed
// writes them and take effect against a real registry: Options by pointer,
// PushImage's option parameter, the listing options as calls and
// WithPlatform as a struct literal.
func TestSeedOptionShapes(t *testing.T) {
	registries(t, func(t *testing.T, host string) {
		c := registry.NewClientWithOptions(host, &registry.Options{Insecure: true})
		app := c.WithSegment("org", "app")
		img := registrytest.RandomImage(t, 1)
		var none []registry.ImagePushOption // no push option exists; the parameter is the seed's
		for _, tag := range []string{"a", "b", "c", "d"} {
			if err := app.PushImage(ctx, tag, img, none...); err != nil {
				t.Fatalf("PushImage(%s): %v", tag, err)
			}
		}
		for _, repo := range []string{"org/b", "org/c"} {
			if err := c.WithSegment(repo).PushImage(ctx, "v1", img); err != nil {
				t.Fatalf("PushImage(%s:v1): %v", repo, err)
			}
		}

		tagPages := []struct {
			opts []registry.ListTagsOption
			want []string
		}{
			{[]registry.ListTagsOption{registry.WithTagsLimit(2)}, []string{"a", "b"}},
			{[]registry.ListTagsOption{registry.WithTagsLimit(2), registry.WithTagsLast("b")}, []string{"c", "d"}},
			{[]registry.ListTagsOption{registry.WithTagsLast("c")}, []string{"d"}},
			{[]registry.ListTagsOption{registry.WithTagsLimit(3), registry.WithTagsLimit(1)}, []string{"a"}}, // the later wins
		}
		for _, tt := range tagPages {
			got, err := app.ListTags(ctx, tt.opts...)
			if err != nil || !cmp.Equal(got, tt.want) {
				t.Errorf("ListTags(%v) = %q, %v, want %q", tt.opts, got, err, tt.want)
			}
		}
		repoPages := []struct {
			opts []registry.ListRepositoriesOption
			want []string
		}{
			{[]registry.ListRepositoriesOption{registry.WithReposLimit(2)}, []string{"org/app", "org/b"}},
			{[]registry.ListRepositoriesOption{registry.WithReposLimit(2), registry.WithReposLast("org/b")}, []string{"org/c"}},
		}
		for _, tt := range repoPages {
			got, err := c.WithSegment("org").ListRepositories(ctx, tt.opts...)
			if err != nil || !cmp.Equal(got, tt.want) {
				t.Errorf("ListRepositories(org, %v) = %q, %v, want %q", tt.opts, got, err, tt.want)
			}
		}

		idx := registrytest.PushRandomIndex(t, host, "org/multi", "v1")
		im, _ := idx.IndexManifest()
		amd64, arm64 := im.Manifests[0].Digest, im.Manifests[1].Digest
		multi := c.WithSegment("org/multi")
		arm := registry.WithPlatform{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}
		reads := map[string]func(opts ...registry.ImageGetOption) (v1.Hash, error){
			"GetImage": func(opts ...registry.ImageGetOption) (v1.Hash, error) {
				img, err := multi.GetImage(ctx, "v1", opts...)
				if err != nil {
					return v1.Hash{}, err
				}
				return img.Digest()
			},
			"GetManifest": func(opts ...registry.ImageGetOption) (v1.Hash, error) {
				m, err := multi.GetManifest(ctx, "v1", opts...)
				if err != nil {
					return v1.Hash{}, err
				}
				return m.GetDescriptor().GetDigest(), nil
			},
			"GetDigest": func(opts ...registry.ImageGetOption) (v1.Hash, error) {
				h, err := multi.GetDigest(ctx, "v1", opts...)
				if err != nil {
					return v1.Hash{}, err
				}
				return *h, nil
			},
		}
		for name, read := range reads {
			if got, err := read(arm); err != nil || got != arm64 {
				t.Errorf("%s(v1, WithPlatform arm64) = %s, %v, want the arm64 child %s", name, got, err, arm64)
			}
			if got, err := read(arm, registry.WithPlatform{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}); err != nil || got != amd64 {
				t.Errorf("%s(v1, arm64 then amd64) = %s, %v, want the later, amd64 child %s", name, got, err, amd64)
			}
		}
		if cf, err := multi.GetImageConfig(ctx, "v1", arm); err != nil || cf.Architecture != "arm64" {
			t.Errorf("GetImageConfig(v1, WithPlatform arm64) = %v, %v, want arm64's config", cf, err)
		}
	})
}

// TestOptionsOf: the helpers that decorators key their entries with read
// the typed options as the client does.
func TestOptionsOf(t *testing.T) {
	if n, last := registry.TagsPageOf(registry.WithTagsLimit(2), registry.WithTagsLast("b")); n != 2 || last != "b" {
		t.Errorf("TagsPageOf(limit 2, last b) = %d, %q, want 2, b", n, last)
	}
	if n, last := registry.ReposPageOf(registry.WithReposLast("org/a"), registry.WithReposLimit(5)); n != 5 || last != "org/a" {
		t.Errorf("ReposPageOf(last org/a, limit 5) = %d, %q, want 5, org/a", n, last)
	}
	if n, last := registry.TagsPageOf(); n != 0 || last != "" {
		t.Errorf("TagsPageOf() = %d, %q, want 0, empty", n, last)
	}
	arm := &v1.Platform{OS: "linux", Architecture: "arm64"}
	if got := registry.PlatformOf(registry.WithManifest{}, registry.WithPlatform{Platform: arm}); got != arm {
		t.Errorf("PlatformOf(WithManifest, WithPlatform arm64) = %v, want arm64", got)
	}
	if got := registry.PlatformOf(registry.WithManifest{}); got != nil {
		t.Errorf("PlatformOf(WithManifest) = %v, want nil", got)
	}
}
