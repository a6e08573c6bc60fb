package cache

import (
	"context"
	"testing"
)

func TestWithOutcomeShared(t *testing.T) {
	ctx, outer := WithOutcome(context.Background())
	ctx, inner := WithOutcome(ctx)
	if inner != outer {
		t.Fatalf("WithOutcome(ctx with an Outcome) = new Outcome, want the existing one")
	}
	Observe(ctx, StatusMiss, 0)
	Observe(ctx, StatusHit, 0)
	if got, _ := outer.Result(); got != StatusMiss {
		t.Errorf("Result() = %q, want %q (the worst lookup)", got, StatusMiss)
	}
}
