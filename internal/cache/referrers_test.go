package cache

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestReferrersTagTTL: a referrers list is asked once per tag TTL, by tag
// or by digest alike, and an upstream failure is an error, never a
// remembered empty list.
func TestReferrersTagTTL(t *testing.T) {
	f := newFixture(t)
	d := f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	app := f.hub.WithSegment("org", "app")
	ctx := context.Background()
	for range 3 {
		for _, ref := range []string{"v1", "@" + d} {
			r, err := app.GetReferrers(ctx, ref)
			if err != nil {
				t.Fatalf("GetReferrers(%s): %v", ref, err)
			}
			if r.Subject.String() != d {
				t.Fatalf("GetReferrers(%s).Subject = %s, want %s", ref, r.Subject, d)
			}
		}
	}
	if n := f.up.count("GetReferrers"); n != 1 {
		t.Errorf("GetReferrers reached the upstream %d times within the TTL, want 1", n)
	}
	f.clock.Advance(31 * time.Second)
	boom := errors.New("boom")
	f.up.setHook(func(_ context.Context, call string) error {
		if call == "GetReferrers org/app @"+d {
			return boom
		}
		return nil
	})
	if _, err := app.GetReferrers(ctx, "@"+d); !errors.Is(err, boom) {
		t.Fatalf("GetReferrers with the upstream failing = %v, want its error", err)
	}
	f.up.setHook(nil)
	if _, err := app.GetReferrers(ctx, "@"+d); err != nil {
		t.Fatal(err)
	}
	if n := f.up.count("GetReferrers"); n != 3 {
		t.Errorf("GetReferrers reached the upstream %d times, want 3 (first, failed, retried)", n)
	}
}
