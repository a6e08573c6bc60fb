package cache

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/regapi/regapi/internal/registry"
)

func TestPurge(t *testing.T) {
	f := newFixture(t)
	other := f.cache.Wrap("other", &fakeClient{up: f.up}) // same registry, second upstream name
	paths := []string{"lib", "lib/a", "library", "x"}
	for _, p := range paths {
		f.up.addImage(t, p, "v1", []byte(`{}`))
	}
	fill := func() {
		t.Helper()
		for _, c := range []registry.Client{f.hub, other} {
			for _, p := range paths {
				if _, err := c.WithSegment(p).ListTags(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	tests := []struct {
		prefix string
		want   int
	}{
		{"hub/lib", 2},  // lib and lib/a, not library
		{"hub/lib/", 2}, // a trailing slash means the same
		{"hub/library", 1},
		{"hub", 4},
		{"hu", 0}, // component boundaries only
		{"", 8},
	}
	for _, tt := range tests {
		f.cache.Purge("")
		fill()
		if got := f.cache.Purge(tt.prefix); got != tt.want {
			t.Errorf("Purge(%q) = %d, want %d", tt.prefix, got, tt.want)
		}
		if entries, _ := f.cache.Len(); entries != 8-tt.want {
			t.Errorf("after Purge(%q): %d entries, want %d", tt.prefix, entries, 8-tt.want)
		}
	}
}

// TestPurgeDuringLoad: an answer loaded across a purge is not stored, since
// it may predate whatever the purge was for.
func TestPurgeDuringLoad(t *testing.T) {
	f := newFixture(t)
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	app := f.hub.WithSegment("org", "app")
	g := newGate(1)
	f.up.setHook(g.hook)
	done := make(chan error, 1)
	go func() {
		_, err := app.ListTags(context.Background())
		done <- err
	}()
	<-g.started
	f.cache.Purge("hub/org/app")
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f.up.setHook(nil)
	if _, err := app.ListTags(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.up.count("ListTags"); got != 2 {
		t.Errorf("upstream calls = %d, want 2", got)
	}
}

func TestUpstreamNamesDoNotCollide(t *testing.T) {
	f := newFixture(t)
	up2 := newFakeUpstream()
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	up2.addImage(t, "org/app", "v2", []byte(`{}`))
	a := f.hub.WithSegment("org", "app")
	b := f.cache.Wrap("mirror", &fakeClient{up: up2}).WithSegment("org").WithSegment("app")
	for range 2 {
		ta, errA := a.ListTags(context.Background())
		tb, errB := b.ListTags(context.Background())
		if errA != nil || errB != nil || len(ta) != 1 || len(tb) != 1 || ta[0] != "v1" || tb[0] != "v2" {
			t.Fatalf("ListTags = %q, %v and %q, %v, want [v1] and [v2]", ta, errA, tb, errB)
		}
	}
	if got := b.GetRegistry(); got != "registry.test/org/app" {
		t.Errorf("GetRegistry() = %q, want registry.test/org/app", got)
	}
}

func TestListKeysIncludePaging(t *testing.T) {
	f := newFixture(t)
	for _, tag := range []string{"a", "b", "c"} {
		f.up.addImage(t, "org/app", tag, []byte(`{}`))
	}
	app := f.hub.WithSegment("org", "app")
	ctx := context.Background()
	tests := []struct {
		opts []registry.ListTagsOption
		want string
	}{
		{nil, "a,b,c|"},
		{[]registry.ListTagsOption{registry.WithTagsLimit(2)}, "a,b|b"},
		{[]registry.ListTagsOption{registry.WithTagsLimit(2), registry.WithTagsLast("b")}, "c|"},
	}
	for range 2 {
		for _, tt := range tests {
			p, err := app.ListTagsPage(ctx, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.Items, ",") + "|" + p.Next; got != tt.want {
				t.Errorf("ListTagsPage(%v) = %s, want %s", tt.opts, got, tt.want)
			}
			p.Items[0] = "mutated" // the caller's own copy
		}
	}
	if got := f.up.count("ListTagsPage"); got != len(tests) {
		t.Errorf("upstream calls = %d, want %d", got, len(tests))
	}
}

func TestRepositoryLists(t *testing.T) {
	f := newFixture(t, WithRepoListTTL(time.Minute))
	for _, p := range []string{"org/a", "org/b", "x/y"} {
		f.up.addImage(t, p, "v1", []byte(`{}`))
	}
	ctx := context.Background()
	for range 2 {
		all, err := f.hub.ListRepositories(ctx)
		if err != nil || strings.Join(all, ",") != "org/a,org/b,x/y" {
			t.Fatalf("ListRepositories() = %q, %v", all, err)
		}
		org, err := f.hub.WithSegment("org").ListRepositoriesPage(ctx, registry.WithReposLimit(1))
		if err != nil || strings.Join(org.Items, ",") != "org/a" || org.Next != "org/a" {
			t.Fatalf("org ListRepositoriesPage(limit 1) = %+v, %v", org, err)
		}
	}
	if got := f.up.count("ListRepositories"); got != 2 {
		t.Errorf("upstream calls = %d, want 2", got)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.hub.ListRepositories(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.up.count("ListRepositories"); got != 3 {
		t.Errorf("upstream calls after the TTL = %d, want 3", got)
	}
}

func TestWritesInvalidate(t *testing.T) {
	ctx := context.Background()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	writes := []struct {
		name  string
		write func(f *fixture, app registry.Client) error
	}{
		{"PushImage", func(_ *fixture, app registry.Client) error { return app.PushImage(ctx, "v1", img) }},
		{"PushIndex", func(f *fixture, app registry.Client) error {
			if err := app.PushIndex(ctx, "v1", nil); err != nil {
				return err
			}
			// The fake does not store indexes; move the tag by hand.
			f.up.addImage(t, "org/app", "v1", []byte(`{"os":"pushed"}`))
			return nil
		}},
		{"CopyImage", func(f *fixture, app registry.Client) error {
			f.up.addImage(t, "src", "new", []byte(`{"os":"copied"}`))
			_, err := f.hub.WithSegment("src").CopyImage(ctx, "new", app, "v1")
			return err
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			f := newFixture(t)
			old := f.up.addImage(t, "org/app", "v1", []byte(`{}`))
			f.up.addImage(t, "other", "v1", []byte(`{}`))
			app := f.hub.WithSegment("org", "app")
			other := f.hub.WithSegment("other")
			read := func() (digest string, tags []string, repos []string) {
				t.Helper()
				h, err := app.GetDigest(ctx, "v1")
				if err != nil {
					t.Fatal(err)
				}
				if tags, err = app.ListTags(ctx); err != nil {
					t.Fatal(err)
				}
				if repos, err = f.hub.ListRepositories(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := other.ListTags(ctx); err != nil {
					t.Fatal(err)
				}
				if err := app.CheckImageExists(ctx, "v9"); !errors.Is(err, registry.ErrImageNotFound) {
					t.Fatal(err)
				}
				return h.String(), tags, repos
			}
			if d, _, _ := read(); d != old {
				t.Fatalf("GetDigest(v1) = %s, want %s", d, old)
			}
			if err := w.write(f, app); err != nil {
				t.Fatalf("%s error = %v", w.name, err)
			}
			before := f.up.count("")
			d, _, _ := read()
			if d == old {
				t.Errorf("GetDigest(v1) after %s = the old digest %s", w.name, d)
			}
			// Digest, tag list, repository list and the not-found were asked
			// again; the other repository was not.
			if got := f.up.count("") - before; got != 4 {
				t.Errorf("upstream calls after %s = %d, want 4", w.name, got)
			}
			if got := f.up.count("ListTags other"); got != 1 {
				t.Errorf("ListTags(other) upstream calls = %d, want 1", got)
			}
		})
	}
}
