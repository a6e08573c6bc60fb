package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/regapi/regapi/internal/cache/redistest"
	"github.com/regapi/regapi/internal/registry"
)

// fleet is n caches (replicas) in front of one fakeUpstream, sharing one
// real redis-server.
type fleet struct {
	up     *fakeUpstream
	redis  *redistest.Server
	rdb    *redis.Client // straight to the server, for what tests plant
	caches []*Cache
	hubs   []registry.Client
	regs   []*prometheus.Registry
}

func newFleet(t *testing.T, n int, opts ...Option) *fleet {
	t.Helper()
	f := &fleet{up: newFakeUpstream(), redis: redistest.Start(t)}
	f.rdb = redis.NewClient(&redis.Options{Addr: f.redis.Addr, DisableIdentity: true})
	t.Cleanup(func() { f.rdb.Close() })
	for range n {
		f.add(t, opts...)
	}
	return f
}

// add starts one more replica.
func (f *fleet) add(t *testing.T, opts ...Option) int {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := New(append([]Option{WithShared(f.redis.URL, "", ""), WithRegisterer(reg)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	f.caches = append(f.caches, c)
	f.hubs = append(f.hubs, c.Wrap("hub", &fakeClient{up: f.up}))
	f.regs = append(f.regs, reg)
	return len(f.caches) - 1
}

// counter sums the samples of a counter family in replica i's registry
// whose labels include want.
func (f *fleet) counter(t *testing.T, i int, name string, want map[string]string) int {
	t.Helper()
	mfs, err := f.regs[i].Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, want) {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return int(n)
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// tagsOf lists org/app's tags through replica i and reports the outcome.
func (f *fleet) tagsOf(t *testing.T, i int) ([]string, Status, Tier) {
	t.Helper()
	ctx, o := WithOutcome(context.Background())
	tags, err := f.hubs[i].WithSegment("org", "app").ListTags(ctx)
	if err != nil {
		t.Fatalf("replica %d: ListTags: %v", i, err)
	}
	s, _ := o.Result()
	return tags, s, o.Tier()
}

func TestSharedHitOnOtherReplica(t *testing.T) {
	f := newFleet(t, 2)
	f.up.addImage(t, "org/app", "v1", []byte(`{"architecture":"amd64","os":"linux"}`))

	if _, s, _ := f.tagsOf(t, 0); s != StatusMiss {
		t.Fatalf("first read on replica 0 = %s, want MISS", s)
	}
	tags, s, tier := f.tagsOf(t, 1)
	if s != StatusHit || tier != TierShared || !slices.Equal(tags, []string{"v1"}) {
		t.Fatalf("replica 1 = %v %s %s, want [v1] HIT shared", tags, s, tier)
	}
	if _, s, tier := f.tagsOf(t, 1); s != StatusHit || tier != TierMemory {
		t.Fatalf("replica 1 again = %s %s, want HIT memory", s, tier)
	}
	if n := f.up.count("ListTags"); n != 1 {
		t.Fatalf("upstream ListTags calls = %d, want 1", n)
	}
	if n := f.counter(t, 1, "regapi_cache_shared_hits_total", map[string]string{"kind": "tags"}); n != 1 {
		t.Fatalf("replica 1 shared tag hits = %d, want 1", n)
	}
}

// A replica started against a warm server answers digest-addressed reads
// without the registry, each checked against its digest.
func TestSharedWarmRestart(t *testing.T) {
	f := newFleet(t, 1)
	d := f.up.addImage(t, "org/app", "v1", []byte(`{"architecture":"amd64","os":"linux"}`))
	app := f.hubs[0].WithSegment("org", "app")
	want, err := app.GetConfigBlob(context.Background(), "@"+d)
	if err != nil {
		t.Fatal(err)
	}
	calls := len(f.up.calls)

	i := f.add(t)
	ctx, o := WithOutcome(context.Background())
	got, err := f.hubs[i].WithSegment("org", "app").GetConfigBlob(ctx, "@"+d)
	if err != nil || string(got) != string(want) {
		t.Fatalf("GetConfigBlob on the new replica = %q, %v; want %q", got, err, want)
	}
	if s, _ := o.Result(); s != StatusHit || o.Tier() != TierShared {
		t.Fatalf("outcome = %s %s, want HIT shared", s, o.Tier())
	}
	if n := len(f.up.calls); n != calls {
		t.Fatalf("upstream calls %d -> %d, want none: %v", calls, n, f.up.calls[calls:])
	}
}

// A value that does not hash to the digest in its key is dropped and
// fetched again, never served.
func TestSharedCorruptValueIsNotServed(t *testing.T) {
	f := newFleet(t, 1)
	d := f.up.addImage(t, "org/app", "v1", []byte(`{"architecture":"amd64","os":"linux"}`))
	app := f.hubs[0].WithSegment("org", "app").(*client)
	if _, err := app.GetManifest(context.Background(), "@"+d); err != nil {
		t.Fatal(err)
	}
	key := f.caches[0].shared.entryKey(app.key(opManifest, d))
	ctx := context.Background()
	good, err := f.rdb.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatalf("the manifest is not in the shared tier under %q: %v", key, err)
	}
	bad := slices.Clone(good)
	bad[len(bad)-2] ^= 1 // inside the raw manifest
	if err := f.rdb.Set(ctx, key, bad, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}

	i := f.add(t)
	m, err := f.hubs[i].WithSegment("org", "app").GetManifest(ctx, "@"+d)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.GetDescriptor().GetDigest().String(); got != d {
		t.Fatalf("served manifest %s, want the registry's %s", got, d)
	}
	if string(m.GetRaw()) == string(bad[len(bad)-len(m.GetRaw()):]) {
		t.Fatalf("served the bytes planted in Redis, which do not hash to %s", d)
	}
	if n := f.up.count("GetManifest org/app @" + d); n != 2 {
		t.Fatalf("upstream manifest fetches = %d, want 2 (the corrupt value refetched)", n)
	}
	if n := f.counter(t, i, "regapi_cache_shared_rejected_total", map[string]string{"kind": "manifest"}); n != 1 {
		t.Fatalf("rejected = %d, want 1", n)
	}
	if again, _ := f.rdb.Get(ctx, key).Bytes(); string(again) != string(good) {
		t.Fatalf("the shared tier still holds a bad value after the refetch")
	}
}

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
			g.hook(ctx, call)
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

// A push through one replica is seen by a tag list read through another
// right after it: the shared keys are gone and every replica dropped its
// copy before the push returned.
func TestSharedInvalidationReachesEveryReplica(t *testing.T) {
	f := newFleet(t, 3)
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	for i := range 3 {
		f.tagsOf(t, i)
	}
	img := testImage(t)
	if err := f.hubs[0].WithSegment("org", "app").PushImage(context.Background(), "v2", img); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if tags, _, _ := f.tagsOf(t, i); !slices.Equal(tags, []string{"v1", "v2"}) {
			t.Fatalf("replica %d after the push = %v, want [v1 v2]", i, tags)
		}
	}
}

func TestSharedPurgeEmptiesEveryReplica(t *testing.T) {
	f := newFleet(t, 2)
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	f.tagsOf(t, 0)
	f.tagsOf(t, 1)
	if n := f.caches[0].Purge("hub/org"); n < 2 {
		t.Fatalf("Purge = %d, want the memory entry and the shared key at least", n)
	}
	for i := range 2 {
		if n, _ := f.caches[i].Len(); n != 0 {
			t.Fatalf("replica %d holds %d entries after the purge", i, n)
		}
	}
	keys, err := f.rdb.Keys(context.Background(), "regapi:v1:e:*").Result()
	if err != nil || len(keys) != 0 {
		t.Fatalf("shared keys after the purge = %q, %v; want none", keys, err)
	}
	if _, s, _ := f.tagsOf(t, 1); s != StatusMiss {
		t.Fatalf("read after the purge = %s, want MISS", s)
	}
}

// With the server gone every lookup still answers, from memory or the
// registry, within the tier's timeout; failures are counted. When it is
// back the tier is used again.
func TestSharedServerDownAndBack(t *testing.T) {
	f := newFleet(t, 2, WithSharedTimeout(50*time.Millisecond))
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	f.tagsOf(t, 0)
	f.redis.Stop()

	start := time.Now()
	if tags, s, _ := f.tagsOf(t, 1); s != StatusMiss || !slices.Equal(tags, []string{"v1"}) {
		t.Fatalf("replica 1 with the server down = %v %s, want [v1] MISS", tags, s)
	}
	if _, s, tier := f.tagsOf(t, 0); s != StatusHit || tier != TierMemory {
		t.Fatalf("replica 0 with the server down = %s %s, want HIT memory", s, tier)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("lookups with the server down took %s", took)
	}
	if n := f.counter(t, 1, "regapi_cache_shared_errors_total", nil); n == 0 {
		t.Fatal("no shared errors counted with the server down")
	}

	f.redis.Restart()
	// The tier is skipped for downFor after a failure; then used again.
	key := f.caches[1].shared.entryKey(f.hubs[1].WithSegment("org", "app").(*client).key(opTags, ""))
	waitUntil(t, "replica 1 writes to the shared tier again", func() bool {
		f.caches[1].purgeLocal("")
		f.tagsOf(t, 1)
		n, _ := f.rdb.Exists(context.Background(), key).Result()
		return n == 1
	})
	f.caches[0].purgeLocal("")
	if _, s, tier := f.tagsOf(t, 0); s != StatusHit || tier != TierShared {
		t.Fatalf("replica 0 after the restart = %s %s, want HIT shared", s, tier)
	}
}

// testImage is a small random image to push.
func testImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// GetShared and SetShared carry rows the cache does not know itself across
// replicas, and Purge drops them with their location.
func TestSharedValues(t *testing.T) {
	f := newFleet(t, 2)
	ctx := context.Background()
	f.caches[0].SetShared(ctx, "hub/org/app", "row@sha256:1", []byte("row"), time.Minute)
	if b, ok := f.caches[1].GetShared(ctx, "hub/org/app", "row@sha256:1"); !ok || string(b) != "row" {
		t.Fatalf("GetShared on the other replica = %q, %v; want row", b, ok)
	}
	f.caches[1].Purge("hub/org")
	if b, ok := f.caches[0].GetShared(ctx, "hub/org/app", "row@sha256:1"); ok {
		t.Fatalf("GetShared after the purge = %q, want nothing", b)
	}
	var none *Cache
	if c, _ := New(); c != nil {
		none = c
	}
	if _, ok := none.GetShared(ctx, "hub", "x"); ok {
		t.Fatal("GetShared without a shared tier found something")
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
