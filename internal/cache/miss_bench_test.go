package cache

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkCacheMiss measures what the cache adds to a cold manifest read:
// GetManifest of a tag it has not seen, in front of an upstream that
// answers at once, so that nearly all of the time is the cache's (lookups,
// the handoff to a loader and back, storing the tag and the manifest).
// Every iteration is a miss: after the last tag the cache is purged,
// untimed.
func BenchmarkCacheMiss(b *testing.B) {
	f := &fixture{up: newFakeUpstream(), clock: newFakeClock()}
	var err error
	if f.cache, err = New(WithClock(f.clock.Now)); err != nil {
		b.Fatal(err)
	}
	f.hub = f.cache.Wrap("hub", &fakeClient{up: f.up})
	tags := make([]string, 4096)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%04d", i)
		f.up.addImage(b, "org/app", tags[i], fmt.Appendf(nil, `{"i":%d}`, i))
	}
	app := f.hub.WithSegment("org", "app")
	ctx, o := WithOutcome(context.Background())
	next := 0
	b.ReportAllocs()
	for b.Loop() {
		if next == len(tags) {
			b.StopTimer()
			f.cache.Purge("")
			next = 0
			b.StartTimer()
		}
		if _, err := app.GetManifest(ctx, tags[next]); err != nil {
			b.Fatal(err)
		}
		next++
	}
	if s, _ := o.Result(); s != StatusMiss {
		b.Fatalf("outcome = %s, want MISS", s)
	}
	if got, want := f.up.count("GetManifest"), min(b.N, len(tags)); got < want {
		b.Fatalf("upstream GetManifest calls = %d, want at least %d", got, want)
	}
}
