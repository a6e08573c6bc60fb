package cache

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// goroutineID reads the calling goroutine's number from its stack header,
// to tell in a test whether two tasks ran on the same goroutine.
func goroutineID(t *testing.T) uint64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	field, _, _ := bytes.Cut(bytes.TrimPrefix(buf, []byte("goroutine ")), []byte(" "))
	id, err := strconv.ParseUint(string(field), 10, 64)
	if err != nil {
		t.Errorf("goroutine id from %q: %v", buf, err)
	}
	return id
}

// endLoaders ends every loader of p, waiting or busy: each waiting one gets
// a task that exits its goroutine.
func endLoaders(t *testing.T, p *loaders) {
	t.Helper()
	for p.running.Load() > 0 {
		if p.idle.Load() > 0 {
			p.start(runtime.Goexit)
		}
		runtime.Gosched()
	}
}

func TestLoadersReuseAWaitingLoader(t *testing.T) {
	p := newLoaders(time.Hour) // never ends on its own; endLoaders ends it
	defer endLoaders(t, p)
	ids := make(chan uint64, 2)
	p.start(func() { ids <- goroutineID(t) })
	first := <-ids
	waitUntil(t, "the loader waits for the next task", func() bool { return p.idle.Load() == 1 })
	// The loader counts itself idle just before it blocks on p.tasks: start's
	// non-blocking send can fall in that window and start a second loader
	// (harmless for the cache, but not the case under test). A blocking send
	// hands the task over once the loader receives, as start's send does
	// when the loader already waits.
	p.tasks <- func() { ids <- goroutineID(t) }
	if second := <-ids; second != first {
		t.Errorf("second task ran on goroutine %d, want %d (the waiting loader)", second, first)
	}
	if n := p.running.Load(); n != 1 {
		t.Errorf("loaders running = %d, want 1", n)
	}
}

func TestLoadersEndWhenIdle(t *testing.T) {
	p := newLoaders(time.Millisecond)
	done := make(chan struct{})
	p.start(func() { close(done) })
	<-done
	waitUntil(t, "the idle loader ended", func() bool { return p.running.Load() == 0 })
	if n := p.idle.Load(); n != 0 {
		t.Errorf("idle loaders = %d, want 0", n)
	}
}

func TestLoadersKeepAtMostMaxIdle(t *testing.T) {
	p := newLoaders(time.Hour)
	defer endLoaders(t, p)
	const n = maxIdleLoaders + 4
	var started sync.WaitGroup
	started.Add(n)
	release := make(chan struct{})
	for range n {
		// No loader waits while all are busy: each task starts its own.
		p.start(func() {
			started.Done()
			<-release
		})
	}
	started.Wait()
	if got := p.running.Load(); got != n {
		t.Fatalf("loaders running = %d, want %d", got, n)
	}
	if got := p.started.Load(); got != n {
		t.Errorf("loaders started = %d, want %d", got, n)
	}
	close(release)
	waitUntil(t, "the surplus loaders ended", func() bool { return p.running.Load() == maxIdleLoaders })
	if got := p.idle.Load(); got != maxIdleLoaders {
		t.Errorf("idle loaders = %d, want %d", got, maxIdleLoaders)
	}
}

// A cache exports its loader starts: a first miss starts one.
func TestLoadersStartedMetric(t *testing.T) {
	f := newFixture(t)
	f.up.addImage(t, "org/app", "v1", []byte(`{"architecture":"amd64","os":"linux"}`))
	if _, err := f.hub.WithSegment("org", "app").GetConfigBlob(context.Background(), "v1"); err != nil {
		t.Fatal(err)
	}
	defer endLoaders(t, f.cache.loaders)
	n, err := testutil.GatherAndCount(f.reg, "regapi_cache_loaders_started_total")
	if err != nil || n != 1 {
		t.Fatalf("GatherAndCount(regapi_cache_loaders_started_total) = %d, %v, want 1 series", n, err)
	}
	if got := f.cache.loaders.started.Load(); got == 0 {
		t.Errorf("loaders started after a miss = %d, want at least 1", got)
	}
}
