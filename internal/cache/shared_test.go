package cache

import (
	"context"
	"slices"
	"testing"
	"time"

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
	t.Cleanup(func() {
		if err := f.rdb.Close(); err != nil {
			t.Errorf("redis Close() = %v", err)
		}
	})
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
