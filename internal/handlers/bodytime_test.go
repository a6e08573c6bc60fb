package handlers

import (
	"testing"
	"time"
)

// TestBodyClockNext: the deadline of the next read is the earliest of the
// fixed end, the idle timeout from now, and the time the bytes read so far
// buy at the minimum rate after a first idle period.
func TestBodyClockNext(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		end     time.Duration // after t0
		idle    time.Duration
		minRate int64
		read    int64
		now     time.Duration // after t0
		want    time.Duration // after t0
	}{
		{name: "ordinary body: the fixed end", end: 30 * time.Second, now: 5 * time.Second, want: 30 * time.Second},
		{name: "upload starting: idle from now", end: time.Hour, idle: time.Minute, minRate: 1000, want: time.Minute},
		{name: "steady upload: idle from now", end: time.Hour, idle: time.Minute, minRate: 1000, read: 10_000_000, now: 10 * time.Minute, want: 11 * time.Minute},
		{name: "dribble: the rate's credit runs out", end: time.Hour, idle: time.Minute, minRate: 1000, read: 30_000, now: 80 * time.Second, want: 90 * time.Second},
		{name: "fast but long: the overall bound", end: time.Hour, idle: time.Minute, minRate: 1000, read: 1 << 40, now: 59*time.Minute + 30*time.Second, want: time.Hour},
		{name: "no rate rule", end: time.Hour, idle: time.Minute, now: 30 * time.Minute, want: 31 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &bodyClock{start: t0, end: t0.Add(tt.end), idle: tt.idle, minRate: tt.minRate, read: tt.read}
			if got := c.next(t0.Add(tt.now)).Sub(t0); got != tt.want {
				t.Errorf("next() = t0+%s, want t0+%s", got, tt.want)
			}
		})
	}
}
