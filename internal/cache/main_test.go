package cache

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// The benchmarks run the distribution registry, whose event broadcaster
// outlives it (registrytest.LeakOptions).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, registrytest.LeakOptions()...) }

// fixture is a cache in front of a fakeUpstream, on a fake clock, with its
// metrics in a private registry.
type fixture struct {
	up    *fakeUpstream
	clock *fakeClock
	cache *Cache
	reg   *prometheus.Registry
	hub   registry.Client // the upstream "hub", wrapped
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{up: newFakeUpstream(), clock: newFakeClock(), reg: prometheus.NewRegistry()}
	var err error
	f.cache, err = New(append([]Option{WithClock(f.clock.Now), WithRegisterer(f.reg)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.hub = f.cache.Wrap("hub", &fakeClient{up: f.up})
	return f
}

// metric returns the value of one of the cache's per-kind collectors.
func metric(t *testing.T, c [numKinds]prometheus.Counter, k kind) int {
	t.Helper()
	var m dto.Metric
	if err := c[k].Write(&m); err != nil {
		t.Fatalf("read metric: %v", err)
	}
	return int(m.GetCounter().GetValue())
}

// gaugeValue returns the value of a per-kind gauge.
func gaugeValue(t *testing.T, g [numKinds]prometheus.Gauge, k kind) float64 {
	t.Helper()
	var m dto.Metric
	if err := g[k].Write(&m); err != nil {
		t.Fatalf("read metric: %v", err)
	}
	return m.GetGauge().GetValue()
}

// outcomeOf runs fn with an Outcome in its context and returns what the
// cache reported into it.
func outcomeOf(ctx context.Context, fn func(ctx context.Context)) (Status, time.Duration) {
	ctx, o := WithOutcome(ctx)
	fn(ctx)
	return o.Result()
}

// waitUntil yields until cond holds. It exists for conditions another
// goroutine makes true (a waiter has joined a load); it fails after a
// generous bound instead of hanging.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		runtime.Gosched()
	}
}

// gate holds upstream calls until released: started receives each held
// call's name as it arrives.
type gate struct {
	started chan string
	release chan struct{}
}

func newGate(buffer int) *gate {
	return &gate{started: make(chan string, buffer), release: make(chan struct{})}
}

// hook blocks a call until release is closed or the call's context ends.
func (g *gate) hook(ctx context.Context, call string) error {
	g.started <- call
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
