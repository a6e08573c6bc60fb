package cache

import (
	"context"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

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

// A load that began before a write to its location cannot put its older
// answer back after the write's invalidation: the location's generation
// has moved, and the store is refused. Lists of parent locations too.
func TestSharedStoreAfterInvalidationIsRefused(t *testing.T) {
	f := newFleet(t, 1)
	ctx := context.Background()
	s := f.caches[0].shared
	app := f.hubs[0].WithSegment("org", "app").(*client)
	root := f.hubs[0].(*client)
	tags := app.lookup(opTags, "", kindTags)
	tags.ttl = time.Minute
	repos := root.lookup(opRepos, "", kindRepositories)
	repos.ttl = time.Minute
	exists := func(l lookup) bool {
		n, err := f.rdb.Exists(ctx, s.entryKey(l.key)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}

	for _, l := range []lookup{tags, repos} {
		_, gen, _ := s.get(ctx, l) // the load begins
		s.invalidate(ctx, app.loc) // a push to org/app lands
		s.store(ctx, l, []string{"old"}, 10, nil, gen)
		if exists(l) {
			t.Fatalf("%s: an answer fetched before the write was stored after it", l.kind)
		}
		_, gen, _ = s.get(ctx, l) // a load after the write
		s.store(ctx, l, []string{"new"}, 10, nil, gen)
		if !exists(l) {
			t.Fatalf("%s: an answer fetched after the write was not stored", l.kind)
		}
	}
}

// Events published while a replica's subscription is down never reach it,
// and one of them may have been an invalidation. When the subscription
// comes back the replica drops its tag-addressed answers (the next read
// goes to the tier or the registry) and keeps what was read by digest.
func TestSharedResubscribeDropsChangeable(t *testing.T) {
	f := newFleet(t, 2)
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	f.tagsOf(t, 0)
	if _, s, tier := f.tagsOf(t, 0); s != StatusHit || tier != TierMemory {
		t.Fatalf("second read = %s %s, want HIT memory", s, tier)
	}
	resynced := make(chan struct{}, 8)
	hook := func() { resynced <- struct{}{} }
	f.caches[0].shared.onResync.Store(&hook)

	// Every subscriber's connection is cut; go-redis reconnects and
	// subscribes again.
	if err := f.rdb.ClientKillByFilter(context.Background(), "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-resynced:
	case <-time.After(10 * time.Second):
		t.Fatal("no resync after the subscription was cut")
	}
	if _, s, tier := f.tagsOf(t, 0); s == StatusHit && tier == TierMemory {
		t.Fatal("the tag list was still answered from memory after the resubscription")
	}
	if n := f.counter(t, 0, "regapi_cache_shared_resyncs_total", nil); n != 1 {
		t.Fatalf("resyncs = %d, want 1", n)
	}
}

// A replica that starts while the server is away serves from memory; a
// write through another replica meanwhile reaches no one. When the server is
// back, the late replica's first subscription drops its tag-addressed
// answers as a re-subscription does, and it serves the write.
func TestSharedLateFirstSubscriptionResyncs(t *testing.T) {
	f := newFleet(t, 1)
	f.up.addImage(t, "org/app", "v1", []byte(`{}`))
	f.tagsOf(t, 0)

	f.redis.Stop()
	late := f.add(t)
	resynced := make(chan struct{}, 8)
	hook := func() { resynced <- struct{}{} }
	f.caches[late].shared.onResync.Store(&hook)
	if tags, _, _ := f.tagsOf(t, late); !slices.Equal(tags, []string{"v1"}) {
		t.Fatalf("late replica = %v, want [v1]", tags)
	}
	if err := f.hubs[0].WithSegment("org", "app").PushImage(context.Background(), "v2", testImage(t)); err != nil {
		t.Fatal(err)
	}
	f.redis.Restart()
	select {
	case <-resynced:
	case <-time.After(10 * time.Second):
		t.Fatal("the late replica's first subscription did not resync")
	}
	if tags, s, tier := f.tagsOf(t, late); !slices.Equal(tags, []string{"v1", "v2"}) {
		t.Fatalf("late replica after the server came back = %v (%s %s), want [v1 v2]", tags, s, tier)
	}
}
