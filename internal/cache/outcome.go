package cache

import (
	"context"
	"sync"
	"time"
)

// Status says where an answer came from.
type Status string

// The statuses, from best to worst. A request that makes several lookups
// reports the worst one.
const (
	StatusNone  Status = ""
	StatusHit   Status = "HIT"
	StatusMiss  Status = "MISS"
	StatusStale Status = "STALE"
)

func (s Status) rank() int {
	switch s {
	case StatusHit:
		return 1
	case StatusMiss:
		return 2
	case StatusStale:
		return 3
	}
	return 0
}

// Tier says which cache tier a hit came from.
type Tier string

// The tiers, from nearest to farthest. A request whose lookups hit both
// reports the farther one.
const (
	TierNone   Tier = ""
	TierMemory Tier = "memory"
	TierShared Tier = "shared"
)

func (t Tier) rank() int {
	switch t {
	case TierMemory:
		return 1
	case TierShared:
		return 2
	}
	return 0
}

// Outcome collects the cache statuses of one request's lookups. The HTTP
// layer puts one in the request context; the cache reports into it.
type Outcome struct {
	mu     sync.Mutex
	status Status
	age    time.Duration
	tier   Tier // of the hits only
}

type outcomeKey struct{}

// WithOutcome returns a context that carries an Outcome. When ctx already
// carries one, it returns ctx and that Outcome, so that every layer of one
// request (the access log, the X-Cache header) reads the same lookups.
func WithOutcome(ctx context.Context) (context.Context, *Outcome) {
	if o, ok := ctx.Value(outcomeKey{}).(*Outcome); ok {
		return ctx, o
	}
	o := &Outcome{}
	return context.WithValue(ctx, outcomeKey{}, o), o
}

// OutcomeFrom returns the Outcome ctx carries, or nil.
func OutcomeFrom(ctx context.Context) *Outcome {
	o, _ := ctx.Value(outcomeKey{}).(*Outcome)
	return o
}

// Observe records one lookup's status in the context's Outcome, if any. age
// is how old a stale answer is.
func Observe(ctx context.Context, s Status, age time.Duration) {
	t := TierNone
	if s == StatusHit {
		t = TierMemory
	}
	observe(ctx, s, t, age)
}

// observeShared records a hit answered by the shared tier.
func observeShared(ctx context.Context) { observe(ctx, StatusHit, TierShared, 0) }

func observe(ctx context.Context, s Status, t Tier, age time.Duration) {
	o, _ := ctx.Value(outcomeKey{}).(*Outcome)
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if s.rank() > o.status.rank() {
		o.status = s
	}
	if t.rank() > o.tier.rank() {
		o.tier = t
	}
	if age > o.age {
		o.age = age
	}
}

// Result returns the worst status observed and the largest age of a stale
// answer; StatusNone when nothing went through a cache.
func (o *Outcome) Result() (Status, time.Duration) {
	if o == nil {
		return StatusNone, 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.status, o.age
}

// Tier returns the farthest tier a hit of the request came from: TierShared
// when any lookup was answered by the shared tier, TierMemory when all hits
// came from memory, TierNone when there was no hit.
func (o *Outcome) Tier() Tier {
	if o == nil {
		return TierNone
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.tier
}
