package cache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/regapi/regapi/internal/registry"
)

// failWith makes every upstream call fail with err.
func failWith(err error) func(context.Context, string) error {
	return func(context.Context, string) error { return err }
}

func TestStaleWindowOpensAndCloses(t *testing.T) {
	f := newFixture(t, WithTagListTTL(30*time.Second), WithStaleWindow(10*time.Minute))
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	app := f.hub.WithSegment("org", "app")
	unavailable := fmt.Errorf("list tags: %w", &transport.Error{StatusCode: 503})

	steps := []struct {
		name       string
		advance    time.Duration
		upstream   error
		wantStatus Status
		wantAge    time.Duration
		wantErr    bool
		wantCalls  int
	}{
		{name: "cold", wantStatus: StatusMiss, wantCalls: 1},
		{name: "fresh", advance: 29 * time.Second, wantStatus: StatusHit, wantCalls: 1},
		{name: "expired, registry down", advance: 2 * time.Second, upstream: unavailable, wantStatus: StatusStale, wantAge: 31 * time.Second, wantCalls: 2},
		{name: "last second of the window", advance: 10*time.Minute - 2*time.Second, upstream: unavailable, wantStatus: StatusStale, wantAge: 10*time.Minute + 29*time.Second, wantCalls: 3},
		{name: "window closed", advance: time.Second, upstream: unavailable, wantStatus: StatusMiss, wantErr: true, wantCalls: 4},
		{name: "registry back", upstream: nil, wantStatus: StatusMiss, wantCalls: 5},
		{name: "fresh again", advance: time.Second, wantStatus: StatusHit, wantCalls: 5},
	}
	for _, s := range steps {
		f.clock.Advance(s.advance)
		f.up.setHook(failWith(s.upstream))
		var tags []string
		var err error
		status, age := outcomeOf(t.Context(), func(ctx context.Context) { tags, err = app.ListTags(ctx) })
		if s.wantErr {
			if !errors.Is(err, unavailable) {
				t.Errorf("%s: ListTags() error = %v, want the upstream's 503", s.name, err)
			}
		} else if err != nil || !slices.Equal(tags, []string{"v1"}) {
			t.Errorf("%s: ListTags() = %q, %v, want [v1], nil", s.name, tags, err)
		}
		if status != s.wantStatus || age != s.wantAge {
			t.Errorf("%s: outcome = %s age %s, want %s age %s", s.name, status, age, s.wantStatus, s.wantAge)
		}
		if got := f.up.count("ListTags"); got != s.wantCalls {
			t.Errorf("%s: upstream calls = %d, want %d", s.name, got, s.wantCalls)
		}
	}
	if got := metric(t, f.cache.m.stale, kindTags); got != 2 {
		t.Errorf("stale answers = %d, want 2", got)
	}
}

func TestStaleOnlyForTransientErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantStale bool
	}{
		{"503", &transport.Error{StatusCode: 503}, true},
		{"500 wrapped", fmt.Errorf("get: %w", &transport.Error{StatusCode: 500}), true},
		{"429", &registry.RateLimitError{Err: errors.New("slow down")}, true},
		{"timeout", fmt.Errorf("get: %w", context.DeadlineExceeded), true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"access denied", fmt.Errorf("get: %w", registry.ErrAccessDenied), false},
		{"not found", fmt.Errorf("get: %w", registry.ErrImageNotFound), false},
		{"400", &transport.Error{StatusCode: 400}, false},
		{"panic", ErrLoadPanicked, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			d := f.up.addImage(t, "org/app", "v1", []byte(`{}`))
			app := f.hub.WithSegment("org", "app")
			if _, err := app.GetDigest(context.Background(), "v1"); err != nil {
				t.Fatalf("GetDigest(v1) error = %v", err)
			}
			f.clock.Advance(31 * time.Second)
			f.up.setHook(failWith(tt.err))
			h, err := app.GetDigest(context.Background(), "v1")
			if tt.wantStale {
				if err != nil || h.String() != d {
					t.Errorf("GetDigest(v1) = %v, %v, want stale %s, nil", h, err, d)
				}
				return
			}
			if err == nil {
				t.Errorf("GetDigest(v1) = %v, nil, want the upstream's error", h)
			}
		})
	}
}

func TestRateLimitNotCachedAndRetryAfterHonoured(t *testing.T) {
	f := newFixture(t)
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	app := f.hub.WithSegment("org", "app")
	limited := &registry.RateLimitError{RetryAfter: 30 * time.Second, Err: &transport.Error{StatusCode: 429}}

	// Cold: a 429 is returned and not remembered.
	f.up.setHook(failWith(limited))
	for i := range 2 {
		if _, err := app.ListTags(context.Background()); !errors.Is(err, registry.ErrRateLimited) {
			t.Fatalf("ListTags() #%d error = %v, want ErrRateLimited", i, err)
		}
	}
	if got := f.up.count("ListTags"); got != 2 {
		t.Fatalf("upstream calls = %d, want 2 (429s are not cached)", got)
	}

	// Warm, then expired: the 429 opens the stale window and holds refreshes
	// back for Retry-After.
	f.up.setHook(nil)
	if _, err := app.ListTags(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(31 * time.Second)
	f.up.setHook(failWith(limited))
	steps := []struct {
		advance   time.Duration
		wantCalls int
	}{
		{0, 4},                // refresh tried, 429: stale
		{29 * time.Second, 4}, // within Retry-After: stale, registry left alone
		{time.Second, 5},      // Retry-After over: refresh tried again
	}
	for i, s := range steps {
		f.clock.Advance(s.advance)
		var err error
		status, _ := outcomeOf(t.Context(), func(ctx context.Context) { _, err = app.ListTags(ctx) })
		if err != nil || status != StatusStale {
			t.Errorf("step %d: ListTags() error = %v, outcome %s, want nil, STALE", i, err, status)
		}
		if got := f.up.count("ListTags"); got != s.wantCalls {
			t.Errorf("step %d: upstream calls = %d, want %d", i, got, s.wantCalls)
		}
	}
}

func TestNegativeCaching(t *testing.T) {
	f := newFixture(t, WithNegativeTTL(5*time.Second))
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	app := f.hub.WithSegment("org", "app")
	ctx := context.Background()

	check := func(step string, wantStatus Status, wantCalls int) {
		t.Helper()
		var err error
		status, _ := outcomeOf(t.Context(), func(ctx context.Context) { _, err = app.GetManifest(ctx, "missing") })
		if !errors.Is(err, registry.ErrImageNotFound) {
			t.Errorf("%s: GetManifest(missing) error = %v, want ErrImageNotFound", step, err)
		}
		if status != wantStatus {
			t.Errorf("%s: outcome = %s, want %s", step, status, wantStatus)
		}
		if got := f.up.count("GetManifest org/app missing"); got != wantCalls {
			t.Errorf("%s: upstream calls = %d, want %d", step, got, wantCalls)
		}
	}
	check("cold", StatusMiss, 1)
	f.clock.Advance(4 * time.Second)
	check("within the negative TTL", StatusHit, 1)
	f.clock.Advance(time.Second)
	check("negative TTL over", StatusMiss, 2)

	// A missing repository is remembered the same way.
	gone := f.hub.WithSegment("org", "gone")
	for range 2 {
		if _, err := gone.ListTags(ctx); !errors.Is(err, registry.ErrRepositoryNotFound) {
			t.Fatalf("ListTags(org/gone) error = %v, want ErrRepositoryNotFound", err)
		}
	}
	if got := f.up.count("ListTags org/gone"); got != 1 {
		t.Errorf("upstream ListTags(org/gone) calls = %d, want 1", got)
	}

	// Server errors never are.
	f.up.setHook(failWith(&transport.Error{StatusCode: 502}))
	for range 2 {
		if _, err := app.GetManifest(ctx, "v2"); err == nil {
			t.Fatal("GetManifest(v2) error = nil, want the 502")
		}
	}
	if got := f.up.count("GetManifest org/app v2"); got != 2 {
		t.Errorf("upstream calls after 502s = %d, want 2", got)
	}
}

func TestNegativeTTLZeroDisables(t *testing.T) {
	f := newFixture(t, WithNegativeTTL(0))
	app := f.hub.WithSegment("org", "app")
	for range 2 {
		if err := app.CheckImageExists(context.Background(), "nope"); !errors.Is(err, registry.ErrImageNotFound) {
			t.Fatalf("CheckImageExists(nope) error = %v, want ErrImageNotFound", err)
		}
	}
	if got := f.up.count("GetDigest org/app nope"); got != 2 {
		t.Errorf("upstream calls = %d, want 2", got)
	}
}
