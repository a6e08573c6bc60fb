package handlers

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
)

// TestUpstreamSlots: each upstream has its own n slots, shared by every
// caller; a caller beyond them waits, and leaves when its context ends.
func TestUpstreamSlots(t *testing.T) {
	s := newUpstreamSlots(8)
	ctx := context.Background()
	var releases []func()
	for range 8 {
		r, err := s.acquire(ctx, "hub")
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	// With every slot held, only the context's end can answer.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.acquire(done, "hub"); !errors.Is(err, context.Canceled) {
		t.Fatalf("a 9th acquire = %v, want it to wait until its context ended", err)
	}
	if r, err := s.acquire(ctx, "ghcr"); err != nil {
		t.Fatalf("another upstream's slot: %v", err)
	} else {
		r()
	}
	releases[0]()
	if r, err := s.acquire(ctx, "hub"); err != nil {
		t.Fatalf("acquire after a release: %v", err)
	} else {
		r()
	}
}

// TestInsightEach: every index runs once, each call holding a slot, and
// the first error stops the rest and is returned.
func TestInsightEach(t *testing.T) {
	in := newInsight(slog.New(slog.DiscardHandler), Images{Concurrency: 3}, nil, nil)
	var ran [50]atomic.Int32
	var maxHeld atomic.Int64
	err := in.each(context.Background(), "hub", len(ran), func(ctx context.Context, i int) error {
		ran[i].Add(1)
		in.slots.mu.Lock()
		held := int64(len(in.slots.by["hub"]))
		in.slots.mu.Unlock()
		if held > maxHeld.Load() {
			maxHeld.Store(held)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ran {
		if n := ran[i].Load(); n != 1 {
			t.Errorf("index %d ran %d times, want 1", i, n)
		}
	}
	if m := maxHeld.Load(); m < 1 || m > 3 {
		t.Errorf("slots held during a call = %d at most, want 1 to 3", m)
	}
	boom := errors.New("boom")
	var calls atomic.Int32
	err = in.each(context.Background(), "hub", 1000, func(ctx context.Context, i int) error {
		calls.Add(1)
		return boom
	})
	if !errors.Is(err, boom) || calls.Load() > 3 {
		t.Errorf("each with failing calls = %v after %d calls, want boom after at most one per worker (3)", err, calls.Load())
	}
}

// TestInsightEachPanic: a panicking call is an error, not a crash.
func TestInsightEachPanic(t *testing.T) {
	in := newInsight(slog.New(slog.DiscardHandler), Images{}, nil, nil)
	err := in.each(context.Background(), "hub", 4, func(context.Context, int) error { panic("hostile manifest") })
	if err == nil {
		t.Fatal("each with a panicking call = nil error")
	}
}
