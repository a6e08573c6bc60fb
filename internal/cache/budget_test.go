package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/regapi/regapi/internal/registry"
)

func TestByteBudget(t *testing.T) {
	const budget = 256 << 10
	f := newFixture(t, WithMaxBytes(budget), WithMaxEntryBytes(32<<10))
	blob := strings.Repeat("x", 16<<10)
	const n = 100 // 1.6 MiB of configs through a 256 KiB budget
	for i := range n {
		f.up.addImage(t, "org/app", fmt.Sprintf("v%d", i), []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","author":%q}`, blob+fmt.Sprint(i))))
	}
	app := f.hub.WithSegment("org", "app")
	for i := range n {
		if _, err := app.GetConfigBlob(context.Background(), fmt.Sprintf("v%d", i)); err != nil {
			t.Fatal(err)
		}
		if _, bytes := f.cache.Len(); bytes > budget {
			t.Fatalf("after %d configs: cache bytes = %d, want <= %d", i+1, bytes, budget)
		}
	}
	entries, bytes := f.cache.Len()
	if entries == 0 || bytes < budget/2 {
		t.Errorf("cache holds %d entries, %d bytes, want the budget mostly used", entries, bytes)
	}
	if got := metric(t, f.cache.m.evictions, kindConfig); got < n-16 {
		t.Errorf("config evictions = %d, want at least %d", got, n-16)
	}
	var gauged float64
	for k := range numKinds {
		gauged += gaugeValue(t, f.cache.m.bytes, k)
	}
	if int64(gauged) != bytes {
		t.Errorf("regapi_cache_bytes sums to %v, want %d", gauged, bytes)
	}
	// The most recent config is still there; the first is gone.
	calls := f.up.count("GetConfigBlob")
	if _, err := app.GetConfigBlob(context.Background(), fmt.Sprintf("v%d", n-1)); err != nil || f.up.count("GetConfigBlob") != calls {
		t.Errorf("newest config: error %v, upstream calls %d -> %d, want a hit", err, calls, f.up.count("GetConfigBlob"))
	}
}

func TestEntryCapPassesLargeAnswersThrough(t *testing.T) {
	f := newFixture(t, WithMaxEntryBytes(4096))
	big := fmt.Sprintf(`{"author":%q}`, strings.Repeat("x", 8192))
	f.up.addImage(t, "org/app", "big", []byte(big))
	app := f.hub.WithSegment("org", "app")
	for range 2 {
		b, err := app.GetConfigBlob(context.Background(), "big")
		if err != nil || string(b) != big {
			t.Fatalf("GetConfigBlob(big) = %d bytes, %v, want %d bytes", len(b), err, len(big))
		}
	}
	if got := f.up.count("GetConfigBlob"); got != 2 {
		t.Errorf("upstream config calls = %d, want 2 (too large to cache)", got)
	}
}

func TestMaxEntries(t *testing.T) {
	f := newFixture(t, WithMaxEntries(10))
	for i := range 20 {
		if _, err := f.hub.WithSegment(fmt.Sprintf("r%d", i)).ListTags(context.Background()); !errors.Is(err, registry.ErrRepositoryNotFound) {
			t.Fatal(err)
		}
	}
	if entries, _ := f.cache.Len(); entries != 10 {
		t.Errorf("entries = %d, want 10", entries)
	}
	if got := metric(t, f.cache.m.evictions, kindTags); got != 10 {
		t.Errorf("evictions = %d, want 10", got)
	}
}
