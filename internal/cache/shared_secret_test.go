package cache

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// TestSharedSecret: the first candidate stored is every replica's secret,
// kept through a purge; a value of another length is refused, and a
// replica without the tier, or with the server down, gets an error.
func TestSharedSecret(t *testing.T) {
	f := newFleet(t, 2)
	ctx := context.Background()
	first, second := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	for i, cand := range [][]byte{first, second} {
		got, err := f.caches[i].SharedSecret(ctx, "cursor-key", cand)
		if err != nil || !bytes.Equal(got, first) {
			t.Fatalf("replica %d: SharedSecret() = %x, %v; want the first candidate %x", i, got, err, first)
		}
	}
	f.caches[0].Purge("")
	if got, err := f.caches[1].SharedSecret(ctx, "cursor-key", second); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("after a purge: SharedSecret() = %x, %v; want %x kept", got, err, first)
	}
	if v, err := f.rdb.Get(ctx, DefaultSharedPrefix+"v1:s:cursor-key").Bytes(); err != nil || !bytes.Equal(v, first) {
		t.Fatalf("the server holds %x, %v; want %x under the secrets' namespace", v, err, first)
	}
	if ttl := f.rdb.TTL(ctx, DefaultSharedPrefix+"v1:s:cursor-key").Val(); ttl >= 0 {
		t.Errorf("the secret expires in %s, want never", ttl)
	}

	planted := strings.Repeat("p", 1<<20)
	if err := f.rdb.Set(ctx, DefaultSharedPrefix+"v1:s:odd", planted, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := f.caches[0].SharedSecret(ctx, "odd", first); err == nil || got != nil || strings.Contains(err.Error(), "ppp") {
		t.Errorf("SharedSecret(a value of 1 MiB) = %d bytes, %v; want an error without the value", len(got), err)
	}
	if _, err := f.caches[0].SharedSecret(ctx, "empty", nil); err == nil {
		t.Error("SharedSecret(no candidate) succeeded")
	}

	alone, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alone.SharedSecret(ctx, "cursor-key", first); !errors.Is(err, ErrNoSharedTier) {
		t.Errorf("without a shared tier: SharedSecret() = %v, want ErrNoSharedTier", err)
	}

	f.redis.Stop()
	if got, err := f.caches[1].SharedSecret(ctx, "cursor-key", second); err == nil || got != nil {
		t.Fatalf("with the server down: SharedSecret() = %x, %v; want an error", got, err)
	}
	// Skipped for a second after the failure, as every call to the tier.
	if _, err := f.caches[1].SharedSecret(ctx, "cursor-key", second); !errors.Is(err, ErrNoSharedTier) {
		t.Errorf("right after a failure: SharedSecret() = %v, want ErrNoSharedTier", err)
	}
	if n := f.counter(t, 1, "regapi_cache_shared_errors_total", map[string]string{"call": "set"}); n != 1 {
		t.Errorf("shared errors{call=set} = %d, want 1", n)
	}
}
