package registry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

func TestWithSegment(t *testing.T) {
	base := registry.NewClientWithOptions("registry.example.com", nil)
	tests := []struct {
		client registry.Client
		want   string
	}{
		{base, "registry.example.com"},
		{base.WithSegment("myorg"), "registry.example.com/myorg"},
		{base.WithSegment("myorg").WithSegment("myproject"), "registry.example.com/myorg/myproject"},
		{base.WithSegment("myorg", "myproject", "mycomponent"), "registry.example.com/myorg/myproject/mycomponent"},
		{base.WithSegment("myorg/myproject"), "registry.example.com/myorg/myproject"},
		{base.WithSegment(), "registry.example.com"},
		{registry.NewClientWithOptions("127.0.0.1:5000/deckhouse", nil).WithSegment("modules"), "127.0.0.1:5000/deckhouse/modules"},
	}
	for _, tc := range tests {
		if got := tc.client.GetRegistry(); got != tc.want {
			t.Errorf("GetRegistry() = %q, want %q", got, tc.want)
		}
	}

	// The receiver and the caller's slice stay as they were.
	org := base.WithSegment("org")
	segs := []string{"a", "b"}
	_ = org.WithSegment(segs...)
	_ = org.WithSegment("c")
	if got := org.GetRegistry(); got != "registry.example.com/org" {
		t.Errorf("receiver changed: GetRegistry() = %q", got)
	}
	if segs[0] != "a" || segs[1] != "b" || len(segs) != 2 {
		t.Errorf("caller's slice changed: %q", segs)
	}
}

// TestInvalidNameNoTraffic checks that a client with an invalid path fails
// every call with ErrInvalidName before sending anything.
func TestInvalidNameNoTraffic(t *testing.T) {
	reg := registrytest.StartDistribution(t, nil)
	base := newClient(t, reg.Host, nil)
	bad := []registry.Client{
		base.WithSegment("Upper"),
		base.WithSegment("a//b"),
		base.WithSegment(""),
		base.WithSegment("/lead"),
		base.WithSegment("trail/"),
		base.WithSegment("a..b"),
		base.WithSegment("-dash"),
		base.WithSegment("org").WithSegment("with space"),
		base.WithSegment("ok", "b@d"),
		base.WithSegment("bad!").WithSegment("ok"),
	}
	for _, c := range bad {
		for name, call := range calls(c) {
			if err := call(); !errors.Is(err, registry.ErrInvalidName) {
				t.Errorf("%s on %q = %v, want ErrInvalidName", name, c.GetRegistry(), err)
			}
		}
	}
	// Only the root client (no path) may list repositories; image calls on
	// it are ErrInvalidName too.
	if err := base.CheckImageExists(ctx, "v1"); !errors.Is(err, registry.ErrInvalidName) {
		t.Errorf("CheckImageExists on the root = %v, want ErrInvalidName", err)
	}
	if got := reg.Requests(); len(got) != 0 {
		t.Errorf("invalid clients sent %d requests: %q", len(got), got)
	}

	good := []string{"a", "a/b", "a.b", "a_b", "a__b", "a---b", "0x/y9"}
	for _, s := range good {
		c := base.WithSegment(s)
		if err := c.CheckImageExists(ctx, "v1"); errors.Is(err, registry.ErrInvalidName) {
			t.Errorf("WithSegment(%q) rejected: %v", s, err)
		}
	}
}

func TestInvalidReferenceNoTraffic(t *testing.T) {
	reg := registrytest.StartDistribution(t, nil)
	c := newClient(t, reg.Host, nil).WithSegment("org", "app")
	for _, ref := range []string{"", "-v1", "v1:2", "sha256:abc", "@sha256:XYZ", "md5:0123", strings.Repeat("a", 129)} {
		if _, err := c.GetDigest(ctx, ref); !errors.Is(err, registry.ErrInvalidReference) {
			t.Errorf("GetDigest(%q) = %v, want ErrInvalidReference", ref, err)
		}
		if err := c.PushImage(ctx, ref, registrytest.RandomImage(t, 1)); !errors.Is(err, registry.ErrInvalidReference) {
			t.Errorf("PushImage(%q) = %v, want ErrInvalidReference", ref, err)
		}
	}
	if got := reg.Requests(); len(got) != 0 {
		t.Errorf("invalid references sent %d requests: %q", len(got), got)
	}
}

// calls returns one invocation of every Client method.
func calls(c registry.Client) map[string]func() error {
	const ref = "v1"
	img := func() error { _, err := c.GetImage(ctx, ref); return err }
	return map[string]func() error{
		"GetImage":  img,
		"PushImage": func() error { return c.PushImage(ctx, ref, nil) },
		"PushIndex": func() error { return c.PushIndex(ctx, ref, nil) },
		"GetDigest": func() error { _, err := c.GetDigest(ctx, ref); return err },
		"GetManifest": func() error {
			_, err := c.GetManifest(ctx, ref)
			return err
		},
		"GetImageConfig": func() error { _, err := c.GetImageConfig(ctx, ref); return err },
		"GetConfigBlob":  func() error { _, err := c.GetConfigBlob(ctx, ref); return err },
		"CheckImageExists": func() error {
			return c.CheckImageExists(ctx, ref)
		},
		"CopyImage":            func() error { _, err := c.CopyImage(ctx, ref, c, "v2"); return err },
		"ListTags":             func() error { _, err := c.ListTags(ctx); return err },
		"ListTagsPage":         func() error { _, err := c.ListTagsPage(ctx); return err },
		"ListRepositories":     func() error { _, err := c.ListRepositories(ctx); return err },
		"ListRepositoriesPage": func() error { _, err := c.ListRepositoriesPage(ctx); return err },
	}
}
