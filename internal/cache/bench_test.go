package cache

import (
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
)

// BenchmarkCacheHit measures answers served from memory by the decorator,
// with an Outcome in the context as the HTTP layer puts one there.
func BenchmarkCacheHit(b *testing.B) {
	f := &indexFixture{fixture: &fixture{up: newFakeUpstream(), clock: newFakeClock()}}
	var err error
	if f.cache, err = New(WithClock(f.clock.Now)); err != nil {
		b.Fatal(err)
	}
	f.hub = f.cache.Wrap("hub", &fakeClient{up: f.up})
	f.amd64 = f.up.addImage(b, "org/app", "v1", []byte(`{"architecture":"amd64","os":"linux"}`))
	arm := f.up.addImage(b, "org/app", "", []byte(`{"architecture":"arm64","os":"linux"}`))
	f.up.addIndex(b, "org/app", "multi", map[string]v1.Platform{f.amd64: {OS: "linux", Architecture: "amd64"}, arm: {OS: "linux", Architecture: "arm64"}})
	app := f.hub.WithSegment("org", "app")
	armOpt := registry.WithPlatform{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}

	cases := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"ListTags", func(ctx context.Context) error { _, err := app.ListTags(ctx); return err }},
		{"GetManifest/digest", func(ctx context.Context) error { _, err := app.GetManifest(ctx, "@"+f.amd64); return err }},
		{"GetManifest/tag", func(ctx context.Context) error { _, err := app.GetManifest(ctx, "v1"); return err }},
		{"GetManifest/tag+platform", func(ctx context.Context) error { _, err := app.GetManifest(ctx, "multi", armOpt); return err }},
		{"GetDigest/tag", func(ctx context.Context) error { _, err := app.GetDigest(ctx, "v1"); return err }},
		{"GetConfigBlob/tag", func(ctx context.Context) error { _, err := app.GetConfigBlob(ctx, "v1"); return err }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx, o := WithOutcome(context.Background())
			if err := c.call(ctx); err != nil {
				b.Fatal(err)
			}
			calls := f.up.count("")
			b.ReportAllocs()
			for b.Loop() {
				if err := c.call(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if f.up.count("") != calls {
				b.Fatalf("upstream called during the benchmark")
			}
			if s, _ := o.Result(); s != StatusMiss && s != StatusHit {
				b.Fatalf("outcome = %s, want MISS or HIT", s)
			}
		})
	}
}
