package cache

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// TestRealRegistry runs the decorator over the real client against
// go-containerregistry's in-memory registry, counting the requests the
// registry saw, and ends with the registry stopped to see stale answers.
func TestRealRegistry(t *testing.T) {
	reg := registrytest.StartGGCR(t, false)
	img := registrytest.PushRandomImage(t, reg.Host, "org/app", "v1")
	idx := registrytest.PushRandomIndex(t, reg.Host, "org/multi", "latest")
	clock := newFakeClock()
	c, err := New(WithClock(clock.Now), WithTagTTL(30*time.Second), WithTagListTTL(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	hub := c.Wrap("local", registry.NewClientWithOptions(reg.Host, &registry.Options{Insecure: true, MaxRetries: -1}))
	app := hub.WithSegment("org", "app")
	ctx := context.Background()
	reg.ResetRequests()

	t.Run("concurrent cold manifests make one request", func(t *testing.T) {
		want, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for range 200 {
			wg.Go(func() {
				m, err := app.GetManifest(ctx, "v1")
				if err == nil && string(m.GetRaw()) != string(want) {
					err = errors.New("GetManifest(v1) returned other bytes")
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := reg.CountRequests("", "/v2/org/app/manifests/"); got != 1 {
			t.Errorf("manifest requests = %d, want 1 (%q)", got, reg.Requests())
		}
	})

	t.Run("tags and config", func(t *testing.T) {
		wantCfg, err := img.RawConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.GetManifest(ctx, "v1"); err != nil {
			t.Fatal(err)
		}
		manifests := reg.CountRequests("GET", "/v2/org/app/manifests/")
		for range 2 {
			tags, err := app.ListTags(ctx)
			if err != nil || !slices.Equal(tags, []string{"v1"}) {
				t.Fatalf("ListTags() = %q, %v, want [v1]", tags, err)
			}
			b, err := app.GetConfigBlob(ctx, "v1")
			if err != nil || string(b) != string(wantCfg) {
				t.Fatalf("GetConfigBlob(v1) = %d bytes, %v, want %d bytes", len(b), err, len(wantCfg))
			}
			if cf, err := app.GetImageConfig(ctx, "v1"); err != nil || cf.Architecture != "amd64" {
				t.Fatalf("GetImageConfig(v1) = %+v, %v, want amd64", cf, err)
			}
		}
		if got := reg.CountRequests("GET", "/v2/org/app/tags/list"); got != 1 {
			t.Errorf("tag list requests = %d, want 1", got)
		}
		if got := reg.CountRequests("GET", "/v2/org/app/blobs/"); got != 1 {
			t.Errorf("config blob requests = %d, want 1", got)
		}
		// The cached manifest goes along (registry.WithManifest): reading
		// its config fetches no manifest again.
		if got := reg.CountRequests("GET", "/v2/org/app/manifests/") - manifests; got != 0 {
			t.Errorf("manifest requests while reading the config = %d, want 0", got)
		}
	})

	t.Run("platform digest from the cached index", func(t *testing.T) {
		multi := hub.WithSegment("org/multi")
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := multi.GetManifest(ctx, "latest"); err != nil {
			t.Fatal(err)
		}
		before := reg.CountRequests("", "/v2/org/multi/")
		for _, child := range im.Manifests {
			h, err := multi.GetDigest(ctx, "latest", registry.WithPlatform{Platform: child.Platform})
			if err != nil || *h != child.Digest {
				t.Errorf("GetDigest(latest, %s) = %v, %v, want %s", child.Platform, h, err, child.Digest)
			}
		}
		if got := reg.CountRequests("", "/v2/org/multi/") - before; got != 0 {
			t.Errorf("requests for platform digests = %d, want 0", got)
		}
		arm := registry.WithPlatform{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}
		cf, err := multi.GetImageConfig(ctx, "latest", arm)
		if err != nil || cf.Architecture != "arm64" {
			t.Errorf("GetImageConfig(latest, arm64) = %+v, %v, want arm64", cf, err)
		}
	})

	t.Run("not found is remembered", func(t *testing.T) {
		for range 2 {
			if _, err := app.GetManifest(ctx, "nope"); !errors.Is(err, registry.ErrImageNotFound) {
				t.Fatalf("GetManifest(nope) error = %v, want ErrImageNotFound", err)
			}
		}
		if got := reg.CountRequests("", "/v2/org/app/manifests/nope"); got != 1 {
			t.Errorf("requests for nope = %d, want 1", got)
		}
	})

	t.Run("a push through the cache is seen at once", func(t *testing.T) {
		if err := app.PushImage(ctx, "v2", registrytest.RandomImage(t, 1)); err != nil {
			t.Fatal(err)
		}
		tags, err := app.ListTags(ctx)
		if err != nil || !slices.Equal(tags, []string{"v1", "v2"}) {
			t.Errorf("ListTags() after the push = %q, %v, want [v1 v2]", tags, err)
		}
	})

	t.Run("registry stopped: stale, then the error", func(t *testing.T) {
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(31 * time.Second)
		reg.Server.Close()

		var tags []string
		status, age := outcomeOf(ctx, func(ctx context.Context) { tags, err = app.ListTags(ctx) })
		if err != nil || status != StatusStale || age != 31*time.Second || !slices.Equal(tags, []string{"v1", "v2"}) {
			t.Errorf("ListTags() with the registry down = %q, %v, %s age %s, want [v1 v2], nil, STALE age 31s", tags, err, status, age)
		}
		status, _ = outcomeOf(ctx, func(ctx context.Context) { _, err = app.GetManifest(ctx, "@"+d.String()) })
		if err != nil || status != StatusHit {
			t.Errorf("GetManifest(@digest) with the registry down = %v, %s, want nil, HIT", err, status)
		}
		clock.Advance(10 * time.Minute)
		if _, err := app.ListTags(ctx); err == nil || !isTransient(err) {
			t.Errorf("ListTags() past the stale window error = %v, want a connection error", err)
		}
	})
}
