package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConcurrentIdenticalMissesMakeOneCall(t *testing.T) {
	f := newFixture(t)
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	app := f.hub.WithSegment("org", "app")
	g := newGate(1)
	f.up.setHook(g.hook)

	const n = 200
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			tags, err := app.ListTags(context.Background())
			if err == nil && !slices.Equal(tags, []string{"v1"}) {
				err = fmt.Errorf("ListTags() = %q, want [v1]", tags)
			}
			errs <- err
		})
	}
	<-g.started
	waitUntil(t, "every other caller joined the load", func() bool {
		return metric(t, f.cache.m.coalesced, kindTags) == n-1
	})
	close(g.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := f.up.count("ListTags org/app"); got != 1 {
		t.Errorf("upstream ListTags calls = %d, want 1", got)
	}
	if got := metric(t, f.cache.m.misses, kindTags); got != n {
		t.Errorf("misses = %d, want %d", got, n)
	}
}

// TestDistinctKeysLoadConcurrently holds every upstream call until all 50
// are in flight at once: loads of different keys must not queue behind each
// other, so 50 slow calls take one call's time, not fifty.
func TestDistinctKeysLoadConcurrently(t *testing.T) {
	f := newFixture(t)
	const n = 50
	for i := range n {
		f.up.addImage(t, fmt.Sprintf("org/app%d", i), "v1", []byte(`{}`))
	}
	var inflight, peak atomic.Int32
	all := make(chan struct{})
	f.up.setHook(func(ctx context.Context, _ string) error {
		now := inflight.Add(1)
		defer inflight.Add(-1)
		// A CAS loop: a plain load-then-store lets a lower count overwrite
		// a higher one stored in between (the peak then reads 41 of 50).
		for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
		}
		if now == n {
			close(all)
		}
		select {
		case <-all:
			return nil
		case <-time.After(10 * time.Second): // a failsafe: loads were serialised
			return errors.New("not every load was in flight at once")
		}
	})

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := f.hub.WithSegment(fmt.Sprintf("org/app%d", i)).ListTags(context.Background())
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
	if got := peak.Load(); got != n {
		t.Errorf("peak concurrent upstream calls = %d, want %d", got, n)
	}
}

func TestLeaderCancellingDoesNotFailWaiters(t *testing.T) {
	f := newFixture(t)
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	app := f.hub.WithSegment("org", "app")
	g := newGate(1)
	f.up.setHook(g.hook) // fails the call if its context ends before release

	leaderCtx, cancel := context.WithCancel(context.Background())
	leader := make(chan error, 1)
	go func() {
		_, err := app.ListTags(leaderCtx)
		leader <- err
	}()
	<-g.started
	waiter := make(chan error, 1)
	go func() {
		tags, err := app.ListTags(context.Background())
		if err == nil && len(tags) != 1 {
			err = fmt.Errorf("ListTags() = %q, want [v1]", tags)
		}
		waiter <- err
	}()
	waitUntil(t, "the second caller joined", func() bool { return metric(t, f.cache.m.coalesced, kindTags) == 1 })

	cancel()
	if err := <-leader; !errors.Is(err, context.Canceled) {
		t.Errorf("leader ListTags() error = %v, want context.Canceled", err)
	}
	close(g.release)
	if err := <-waiter; err != nil {
		t.Errorf("waiter ListTags() error = %v, want nil", err)
	}
	if got := f.up.count("ListTags"); got != 1 {
		t.Errorf("upstream calls = %d, want 1", got)
	}
	// The load finished after the leader left and its answer was kept.
	if _, err := app.ListTags(context.Background()); err != nil || f.up.count("ListTags") != 1 {
		t.Errorf("after the load: ListTags() error = %v, upstream calls = %d, want nil, 1", err, f.up.count("ListTags"))
	}
}

func TestWaiterDeadlineApplies(t *testing.T) {
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
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := app.ListTags(expired); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ListTags(expired ctx) error = %v, want context.DeadlineExceeded", err)
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Errorf("ListTags() error = %v, want nil", err)
	}
}

func TestPanickingLoadFailsWaitersAndFreesTheKey(t *testing.T) {
	f := newFixture(t)
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	app := f.hub.WithSegment("org", "app")
	g := newGate(1)
	f.up.setHook(func(ctx context.Context, call string) error {
		g.started <- call
		<-g.release
		panic("upstream exploded")
	})

	errs := make(chan error, 2)
	go func() {
		_, err := app.ListTags(context.Background())
		errs <- err
	}()
	<-g.started
	go func() {
		_, err := app.ListTags(context.Background())
		errs <- err
	}()
	waitUntil(t, "the second caller joined", func() bool { return metric(t, f.cache.m.coalesced, kindTags) == 1 })
	close(g.release)
	for range 2 {
		if err := <-errs; !errors.Is(err, ErrLoadPanicked) {
			t.Errorf("ListTags() error = %v, want ErrLoadPanicked", err)
		}
	}

	f.up.setHook(nil)
	tags, err := app.ListTags(context.Background())
	if err != nil || len(tags) != 1 {
		t.Fatalf("ListTags() after the panic = %q, %v, want [v1], nil", tags, err)
	}
	if got := f.up.count("ListTags"); got != 2 {
		t.Errorf("upstream calls = %d, want 2 (the panic was not cached)", got)
	}
}

func TestLoadTimeoutBoundsDetachedLoad(t *testing.T) {
	f := newFixture(t, WithLoadTimeout(20*time.Millisecond))
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	app := f.hub.WithSegment("org", "app")
	f.up.setHook(func(ctx context.Context, _ string) error {
		<-ctx.Done() // a hung registry: only the load timeout ends this
		return ctx.Err()
	})
	if _, err := app.ListTags(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ListTags() error = %v, want context.DeadlineExceeded", err)
	}
	f.up.setHook(nil)
	if _, err := app.ListTags(context.Background()); err != nil {
		t.Fatalf("ListTags() after the timeout error = %v, want nil (timeouts are not cached)", err)
	}
	if got := f.up.count("ListTags"); got != 2 {
		t.Errorf("upstream calls = %d, want 2", got)
	}
}

func TestGoneCallerStartsNoLoad(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.hub.WithSegment("org", "app").ListTags(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ListTags(cancelled ctx) error = %v, want context.Canceled", err)
	}
	if got := f.up.count(""); got != 0 {
		t.Errorf("upstream calls = %d, want 0", got)
	}
}
