package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/regapi/regapi/internal/registry"
)

func TestOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    []Option
		wantErr string
		check   func(*options) error
	}{
		{name: "defaults", check: func(o *options) error {
			want := options{tagTTL: 30 * time.Second, tagListTTL: 30 * time.Second, repoListTTL: time.Minute,
				negativeTTL: 5 * time.Second, staleWindow: 10 * time.Minute, loadTimeout: 30 * time.Second,
				maxBytes: 256 << 20, maxEntryBytes: 4 << 20, maxEntries: 100_000}
			if diff := cmp.Diff(want, *o, cmp.AllowUnexported(options{}), cmpopts.IgnoreFields(options{}, "clock", "registerer")); diff != "" || o.clock == nil {
				return fmt.Errorf("default options mismatch (-want +got):\n%s", diff)
			}
			return nil
		}},
		{name: "entry cap follows a small budget", opts: []Option{WithMaxBytes(1 << 20)}, check: func(o *options) error {
			if o.maxEntryBytes != 1<<20 {
				return fmt.Errorf("maxEntryBytes = %d, want %d", o.maxEntryBytes, 1<<20)
			}
			return nil
		}},
		{name: "zero TTLs allowed", opts: []Option{WithTagTTL(0), WithNegativeTTL(0), WithStaleWindow(0)}},
		{name: "negative TTL", opts: []Option{WithTagTTL(-time.Second)}, wantErr: "tag TTL must not be negative"},
		{name: "negative list TTL", opts: []Option{WithTagListTTL(-1)}, wantErr: "tag list TTL"},
		{name: "negative repo TTL", opts: []Option{WithRepoListTTL(-1)}, wantErr: "repository list TTL"},
		{name: "negative stale window", opts: []Option{WithStaleWindow(-1)}, wantErr: "stale window"},
		{name: "zero load timeout", opts: []Option{WithLoadTimeout(0)}, wantErr: "load timeout must be positive"},
		{name: "zero bytes", opts: []Option{WithMaxBytes(0)}, wantErr: "max bytes must be positive"},
		{name: "zero entry bytes", opts: []Option{WithMaxEntryBytes(0)}, wantErr: "max entry bytes must be positive"},
		{name: "zero entries", opts: []Option{WithMaxEntries(0)}, wantErr: "max entries must be positive"},
		{name: "nil clock", opts: []Option{WithClock(nil)}, wantErr: "clock must not be nil"},
		{name: "entry cap above budget", opts: []Option{WithMaxBytes(1000), WithMaxEntryBytes(1001)}, wantErr: "exceed max bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := makeOptions(tt.opts...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("makeOptions() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("makeOptions() error = %v", err)
			}
			if tt.check != nil {
				if err := tt.check(o); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestRegistererRejectsSecondCache(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(WithRegisterer(reg)); err != nil {
		t.Fatalf("New() error = %v", err)
	}
	if _, err := New(WithRegisterer(reg)); err == nil {
		t.Fatal("second New() on one registry error = nil, want already registered")
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "kind" {
					t.Errorf("%s has label %q, want only kind", mf.GetName(), l.GetName())
				}
			}
		}
	}
}

func TestByteBudget(t *testing.T) {
	const budget = 256 << 10
	f := newFixture(t, WithMaxBytes(budget), WithMaxEntryBytes(32<<10))
	blob := strings.Repeat("x", 16<<10)
	const n = 100 // 1.6 MiB of configs through a 256 KiB budget
	for i := range n {
		f.up.addImage(t, "org/app", fmt.Sprintf("v%d", i), []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","author":%q}`, blob+fmt.Sprint(i))))
	}
	app := f.hub.WithSegment("org", "app")
	for i := range n {
		if _, err := app.GetConfigBlob(context.Background(), fmt.Sprintf("v%d", i)); err != nil {
			t.Fatal(err)
		}
		if _, bytes := f.cache.Len(); bytes > budget {
			t.Fatalf("after %d configs: cache bytes = %d, want <= %d", i+1, bytes, budget)
		}
	}
	entries, bytes := f.cache.Len()
	if entries == 0 || bytes < budget/2 {
		t.Errorf("cache holds %d entries, %d bytes, want the budget mostly used", entries, bytes)
	}
	if got := metric(t, f.cache.m.evictions, kindConfig); got < n-16 {
		t.Errorf("config evictions = %d, want at least %d", got, n-16)
	}
	var gauged float64
	for k := range numKinds {
		gauged += gaugeValue(t, f.cache.m.bytes, k)
	}
	if int64(gauged) != bytes {
		t.Errorf("regapi_cache_bytes sums to %v, want %d", gauged, bytes)
	}
	// The most recent config is still there; the first is gone.
	calls := f.up.count("GetConfigBlob")
	if _, err := app.GetConfigBlob(context.Background(), fmt.Sprintf("v%d", n-1)); err != nil || f.up.count("GetConfigBlob") != calls {
		t.Errorf("newest config: error %v, upstream calls %d -> %d, want a hit", err, calls, f.up.count("GetConfigBlob"))
	}
}

func TestEntryCapPassesLargeAnswersThrough(t *testing.T) {
	f := newFixture(t, WithMaxEntryBytes(4096))
	big := fmt.Sprintf(`{"author":%q}`, strings.Repeat("x", 8192))
	f.up.addImage(t, "org/app", "big", []byte(big))
	app := f.hub.WithSegment("org", "app")
	for range 2 {
		b, err := app.GetConfigBlob(context.Background(), "big")
		if err != nil || string(b) != big {
			t.Fatalf("GetConfigBlob(big) = %d bytes, %v, want %d bytes", len(b), err, len(big))
		}
	}
	if got := f.up.count("GetConfigBlob"); got != 2 {
		t.Errorf("upstream config calls = %d, want 2 (too large to cache)", got)
	}
}

func TestMaxEntries(t *testing.T) {
	f := newFixture(t, WithMaxEntries(10))
	for i := range 20 {
		if _, err := f.hub.WithSegment(fmt.Sprintf("r%d", i)).ListTags(context.Background()); !errors.Is(err, registry.ErrRepositoryNotFound) {
			t.Fatal(err)
		}
	}
	if entries, _ := f.cache.Len(); entries != 10 {
		t.Errorf("entries = %d, want 10", entries)
	}
	if got := metric(t, f.cache.m.evictions, kindTags); got != 10 {
		t.Errorf("evictions = %d, want 10", got)
	}
}

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
