package cache

import (
	"sync/atomic"
	"time"
)

// Bounds of the goroutines kept between loads: how long one waits for the
// next load, and how many may wait at once. A burst of distinct misses
// starts as many goroutines as it needs; past it, at most maxIdleLoaders
// stay, each for loaderIdle, so that an idle cache holds none.
const (
	loaderIdle     = 100 * time.Millisecond
	maxIdleLoaders = 8
)

// loaders runs the cache's detached loads on goroutines that wait a while
// for the next load when done. A load runs deep (the registry client, its
// transports, net/http), and a new goroutine grows its stack there by
// copying it again and again, on every miss; a kept one has grown already.
// On a 2-core machine that is about 40 µs of a 0.5 ms cold manifest read
// through regapi (BenchmarkColdManifest in cmd/server; runtime.copystack in
// its profile). The loads themselves are the same as on goroutines of
// their own: detached from their callers, their panics recovered by
// Cache.run.
type loaders struct {
	// tasks is unbuffered: a send succeeds only when a loader is waiting.
	tasks   chan func()
	wait    time.Duration // how long a loader waits for a task
	idle    atomic.Int32  // loaders waiting on tasks
	running atomic.Int32  // loaders alive, busy or waiting
	started atomic.Uint64 // loaders started because none waited
}

func newLoaders(wait time.Duration) *loaders {
	return &loaders{tasks: make(chan func()), wait: wait}
}

// start runs f on a waiting loader, or on a new one when none waits.
func (p *loaders) start(f func()) {
	select {
	case p.tasks <- f:
	default:
		p.running.Add(1)
		p.started.Add(1)
		go p.loop(f)
	}
}

// loop runs f, then further tasks as they come, until none has come for
// p.wait or enough loaders wait already.
func (p *loaders) loop(f func()) {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
		p.running.Add(-1)
	}()
	for {
		f()
		if p.idle.Add(1) > maxIdleLoaders {
			p.idle.Add(-1)
			return
		}
		if t == nil {
			t = time.NewTimer(p.wait)
		} else {
			t.Reset(p.wait)
		}
		select {
		case f = <-p.tasks:
			p.idle.Add(-1)
		case <-t.C:
			p.idle.Add(-1)
			return
		}
	}
}
