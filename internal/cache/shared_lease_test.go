package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// Concurrent cold lookups of one key on three replicas make one upstream
// call: one replica takes the lease, the others wait for its answer.
func TestSharedLeaseOneFetchAcrossReplicas(t *testing.T) {
	f := newFleet(t, 3)
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	g := newGate(64)
	f.up.setHook(func(ctx context.Context, call string) error { return g.hook(ctx, call) })

	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tags, err := f.hubs[i%3].WithSegment("org", "app").ListTags(context.Background())
			if err == nil && !slices.Equal(tags, []string{"v1"}) {
				err = fmt.Errorf("tags = %v", tags)
			}
			errs <- err
		}()
	}
	<-g.started
	// Every replica has a lookup in flight: one holds the lease, the
	// others wait on it.
	waitUntil(t, "two replicas wait on the lease", func() bool {
		n := 0
		for i := range 3 {
			n += f.counter(t, i, "regapi_cache_shared_leases_total", map[string]string{"result": "waited"})
		}
		return n == 2
	})
	close(g.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.up.count("ListTags"); n != 1 {
		t.Fatalf("upstream ListTags calls = %d, want 1", n)
	}
}

// A lease holder whose fetch fails lets the waiters fetch themselves.
func TestSharedLeaseHolderFails(t *testing.T) {
	f := newFleet(t, 2)
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	g := newGate(8)
	boom := errors.New("upstream down")
	first := true
	var mu sync.Mutex
	f.up.setHook(func(ctx context.Context, call string) error {
		mu.Lock()
		fail := first
		first = false
		mu.Unlock()
		if fail {
			_ = g.hook(ctx, call) // the call fails with boom either way
			return boom
		}
		return nil
	})
	done := make(chan error, 1)
	go func() {
		_, err := f.hubs[0].WithSegment("org", "app").ListTags(context.Background())
		done <- err
	}()
	<-g.started
	other := make(chan error, 1)
	go func() {
		tags, err := f.hubs[1].WithSegment("org", "app").ListTags(context.Background())
		if err == nil && !slices.Equal(tags, []string{"v1"}) {
			err = fmt.Errorf("tags = %v", tags)
		}
		other <- err
	}()
	waitUntil(t, "replica 1 waits on the lease", func() bool {
		return f.counter(t, 1, "regapi_cache_shared_leases_total", map[string]string{"result": "waited"}) == 1
	})
	close(g.release)
	if err := <-done; !errors.Is(err, boom) {
		t.Fatalf("lease holder = %v, want %v", err, boom)
	}
	if err := <-other; err != nil {
		t.Fatalf("waiter = %v, want the tags it fetched itself", err)
	}
	if n := f.counter(t, 1, "regapi_cache_shared_leases_total", map[string]string{"result": "gave_up"}); n != 1 {
		t.Fatalf("gave_up = %d, want 1", n)
	}
}

// Each lookup the shared tier cannot answer counts one miss, however many
// times the lease dance reads the key.
func TestSharedMissesCountLookups(t *testing.T) {
	f := newFleet(t, 1)
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	f.tagsOf(t, 0)
	if n := f.counter(t, 0, "regapi_cache_shared_misses_total", map[string]string{"kind": "tags"}); n != 1 {
		t.Fatalf("shared tag misses = %d, want 1", n)
	}
	if n := f.counter(t, 0, "regapi_cache_shared_leases_total", map[string]string{"result": "won"}); n != 1 {
		t.Fatalf("leases won = %d, want 1", n)
	}
}
