package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/cache/redistest"
)

// sharedTier is one real redis-server and a client straight to it.
type sharedTier struct {
	redis *redistest.Server
	rdb   *redis.Client
}

func startSharedTier(t *testing.T) *sharedTier {
	t.Helper()
	s := &sharedTier{redis: redistest.Start(t)}
	s.rdb = redis.NewClient(&redis.Options{Addr: s.redis.Addr, DisableIdentity: true})
	t.Cleanup(func() { _ = s.rdb.Close() }) // loopback client of a test server
	return s
}

// replica is one replica's keyring over the tier, on a clock the test
// moves, logging into logs.
func (s *sharedTier) replica(t *testing.T, logs *bytes.Buffer) (*cursorKeyring, *time.Time) {
	t.Helper()
	c, err := cache.New(cache.WithShared(s.redis.URL, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("cache Close() = %v", err)
		}
	})
	k := newCursorKeyring(nil, c, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	now := time.Now()
	k.now = func() time.Time { return now }
	return k, &now
}

var (
	keyBind  = cursorBinding{principal: "ci", registry: "hub", base: "org"}
	keyPoint = resumePoint{upstream: "org/hidden/x"}
)

// opens reports whether k opens cursor as sealed from keyPoint.
func opens(t *testing.T, k *cursorKeyring, cursor string) bool {
	t.Helper()
	p, err := k.sealer(t.Context()).open(keyBind, cursor)
	return err == nil && p == keyPoint
}

// TestCursorKeyringSharedTier: replicas over one shared tier seal with one
// key, the first one stored; when the tier loses it and a new replica
// stores another, the others take that one at their next refresh and still
// open what they sealed before.
func TestCursorKeyringSharedTier(t *testing.T) {
	tier := startSharedTier(t)
	var logs bytes.Buffer
	a, aNow := tier.replica(t, &logs)
	b, _ := tier.replica(t, &logs)

	old := a.sealer(t.Context()).seal(keyBind, keyPoint)
	if !opens(t, b, old) {
		t.Fatal("replica b does not open a cursor replica a sealed")
	}
	if !opens(t, a, b.sealer(t.Context()).seal(keyBind, keyPoint)) {
		t.Fatal("replica a does not open a cursor replica b sealed")
	}
	stored, err := tier.rdb.Get(t.Context(), cache.DefaultSharedPrefix+"v1:s:"+cursorKeyName).Bytes()
	if err != nil || len(stored) != MinCursorKeyBytes {
		t.Fatalf("the tier holds %d bytes, %v; want a key of %d", len(stored), err, MinCursorKeyBytes)
	}

	// The tier's data is lost (a restart without persistence); a new
	// replica stores its own key.
	if err := tier.rdb.FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	c, _ := tier.replica(t, &logs)
	fresh := c.sealer(t.Context()).seal(keyBind, keyPoint)
	if opens(t, a, fresh) {
		t.Fatal("replica a opens the new key's cursor before its refresh: the test proves nothing")
	}
	*aNow = aNow.Add(refreshEvery)
	if !opens(t, a, fresh) {
		t.Error("after its refresh, replica a does not open the new key's cursor")
	}
	if !opens(t, a, old) {
		t.Error("after switching keys, replica a no longer opens a cursor it sealed before")
	}
	if !opens(t, c, a.sealer(t.Context()).seal(keyBind, keyPoint)) {
		t.Error("replica c does not open what replica a seals after the switch")
	}
	checkNoKey(t, logs.String(), stored)
}

// TestCursorKeyringTierDown: with the tier down, a replica seals with a key
// of its own (opening what it sealed, which another replica refuses) and
// warns once, however often it asks again.
func TestCursorKeyringTierDown(t *testing.T) {
	tier := startSharedTier(t)
	var logs, otherLogs bytes.Buffer
	a, aNow := tier.replica(t, &logs)
	b, _ := tier.replica(t, &otherLogs)
	tier.redis.Stop()

	cursor := a.sealer(t.Context()).seal(keyBind, keyPoint)
	for range 3 {
		*aNow = aNow.Add(retryEvery)
		if !opens(t, a, cursor) {
			t.Fatal("replica a does not open a cursor it sealed with its own key")
		}
	}
	if opens(t, b, cursor) {
		t.Error("replica b opens a cursor sealed with replica a's own key")
	}
	if n := strings.Count(logs.String(), "did not answer for the deployment's key"); n != 1 {
		t.Errorf("the warning was logged %d times, want once:\n%s", n, logs.String())
	}
	checkNoKey(t, logs.String(), a.current.Load().secret)
}

// TestCursorKeyringFixedKey: replicas given one key open each other's
// cursors and never ask the shared tier; another key, or none, does not
// open them.
func TestCursorKeyringFixedKey(t *testing.T) {
	tier := startSharedTier(t)
	var logs bytes.Buffer
	c, err := cache.New(cache.WithShared(tier.redis.URL, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() }) // closed at the end of the test: nothing to report
	key := []byte(strings.Repeat("operator's secret ", 3))
	a := newCursorKeyring(key, c, slog.New(slog.NewTextHandler(&logs, nil)))
	b := newCursorKeyring(bytes.Clone(key), c, slog.New(slog.NewTextHandler(&logs, nil)))
	cursor := a.sealer(t.Context()).seal(keyBind, keyPoint)
	if !opens(t, b, cursor) {
		t.Fatal("a replica with the same key does not open the cursor")
	}
	other := newCursorKeyring([]byte(strings.Repeat("another secret ", 3)), nil, slog.New(slog.DiscardHandler))
	if opens(t, other, cursor) {
		t.Error("a replica with another key opens the cursor")
	}
	if opens(t, newCursorKeyring(nil, nil, slog.New(slog.DiscardHandler)), cursor) {
		t.Error("a replica with its own key opens the cursor")
	}
	if n := tier.rdb.Exists(context.Background(), cache.DefaultSharedPrefix+"v1:s:"+cursorKeyName).Val(); n != 0 {
		t.Error("a replica with a key stored one in the shared tier")
	}
	checkNoKey(t, logs.String(), key)
}

// checkNoKey fails when logs hold key, raw, in hex or in base64.
func checkNoKey(t *testing.T, logs string, key []byte) {
	t.Helper()
	for _, form := range []string{string(key), hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key)} {
		if strings.Contains(logs, form) {
			t.Fatalf("the logs hold the key:\n%s", logs)
		}
	}
}

// TestCursorKeyringConcurrent: requests racing for the first key each get a
// sealer whose cursors open on both replicas, once the replicas have asked
// the tier.
func TestCursorKeyringConcurrent(t *testing.T) {
	tier := startSharedTier(t)
	var logs bytes.Buffer
	a, _ := tier.replica(t, &logs)
	b, _ := tier.replica(t, &logs)
	a.now, b.now = time.Now, time.Now
	cursors := make(chan string, 8*20)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				cursors <- a.sealer(t.Context()).seal(keyBind, keyPoint)
			}
		}()
	}
	wg.Wait()
	close(cursors)
	for c := range cursors {
		if !opens(t, a, c) {
			t.Fatal("replica a does not open a cursor it sealed")
		}
	}
	if !a.current.Load().shared {
		t.Fatal("replica a seals with its own key though the tier answers")
	}
	if !opens(t, b, a.sealer(t.Context()).seal(keyBind, keyPoint)) {
		t.Error("replica b does not open a cursor replica a sealed")
	}
}
