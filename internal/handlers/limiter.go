package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/regapi/regapi/internal/auth"
)

// limiter bounds the requests inside the handlers it wraps, together, and
// each caller's share of them. It never queues: a request beyond either
// bound is answered 503 TOO_BUSY with Retry-After at once, so a burst
// cannot pile up goroutines, upstream connections and memory behind a few
// long extracts, and one caller (a token, or an address as the rate limit
// counts callers: auth.CallerKey) cannot take every slot.
//
// An admitted request runs under a readSlot: its context ends after
// Reads.MaxDuration whatever it is doing (building an index, waiting for
// an upstream, streaming), and its stream is cut when its client takes it
// slower than Reads.MinRate (see streamWriter).
type limiter struct {
	logger     *slog.Logger
	metrics    ReadMetrics
	now        func() time.Time
	slots      int
	perCaller  int
	maxDur     time.Duration
	retryAfter time.Duration

	mu    sync.Mutex
	inUse int
	held  map[string]int // slots in use by caller; at most slots entries
}

// Refusal reasons of ReadMetrics.Refused.
const (
	refusedBusy   = "busy"   // every slot is taken
	refusedCaller = "caller" // the caller holds its share
)

func newLimiter(logger *slog.Logger, reads Reads, retryAfter time.Duration) *limiter {
	return &limiter{
		logger:     logger,
		metrics:    reads.Metrics,
		now:        reads.now,
		slots:      reads.Concurrency,
		perCaller:  reads.CallerConcurrency,
		maxDur:     reads.MaxDuration,
		retryAfter: retryAfter,
		held:       map[string]int{},
	}
}

// acquire takes a slot for caller, or returns why it cannot.
func (l *limiter) acquire(caller string) (refused string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.inUse >= l.slots:
		return refusedBusy
	case l.held[caller] >= l.perCaller:
		return refusedCaller
	}
	l.inUse++
	l.held[caller]++
	return ""
}

func (l *limiter) release(caller string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inUse--
	if l.held[caller]--; l.held[caller] <= 0 {
		delete(l.held, caller)
	}
}

// wrap returns next behind the limiter's slots.
func (l *limiter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller := auth.CallerKey(r)
		if why := l.acquire(caller); why != "" {
			l.metrics.Refused(why)
			w.Header().Set("Retry-After", strconv.Itoa(int(l.retryAfter.Seconds())))
			if why == refusedCaller {
				writeError(w, r, l.logger, errorf(codeTooBusy,
					"this caller has %d image reads (extract, files) in progress, its share of the server's %d; retry after the number of seconds in Retry-After", l.perCaller, l.slots))
				return
			}
			writeError(w, r, l.logger, errorf(codeTooBusy,
				"%d image reads (extract, files) are in progress, the server's limit; retry after the number of seconds in Retry-After", l.slots))
			return
		}
		defer l.release(caller)

		ctx, cancel := context.WithCancelCause(r.Context())
		defer cancel(nil)
		// The bound of the whole read, in real time; the slot's end (on
		// l.now's clock) is the same bound as the stream checks it.
		ctx, stop := context.WithTimeoutCause(ctx, l.maxDur, errReadTooLong)
		defer stop()
		s := &readSlot{began: l.now(), cancel: cancel}
		s.end = s.began.Add(l.maxDur)
		defer func() {
			// Past the bound while no write noticed it (an index build,
			// a stalled upstream): the request ended on its context.
			if errors.Is(context.Cause(ctx), errReadTooLong) {
				_ = s.cut(cutDuration) // the handler has returned: nothing writes
			}
			if why, sent := s.outcome(); why != "" {
				l.metrics.StreamCut(why)
				// Warn, not Error: the server works as configured; a run
				// of these is clients (or, past the duration, upstreams)
				// too slow for the read bounds.
				l.logger.WarnContext(ctx, "read cut", "reason", why, "method", r.Method, "path", r.URL.Path,
					"caller", caller, "bytes", sent, "after", l.now().Sub(s.began).Round(time.Millisecond).String())
			}
		}()
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, readSlotKey{}, s)))
	})
}

// errReadTooLong ends a read that outlived Reads.MaxDuration.
var errReadTooLong = errors.New("the read took longer than the server allows")

// errStreamCut is the write error of a stream cut by its read's bounds.
var errStreamCut = errors.New("the stream was cut: below the minimum rate, past the maximum duration or the idle timeout")

// Reasons of ReadMetrics.StreamCut.
const (
	cutIdle     = "idle"     // a write did not complete within Reads.IdleTimeout
	cutSlow     = "slow"     // the stream averaged less than Reads.MinRate
	cutDuration = "duration" // the read outlived Reads.MaxDuration
)

type readSlotKey struct{}

// readSlot is one admitted read: when it began, when it must end, and the
// way to end it early.
type readSlot struct {
	began  time.Time
	end    time.Time // began + Reads.MaxDuration
	cancel context.CancelCauseFunc

	mu   sync.Mutex
	sent int64  // bytes streamed, for the log
	why  string // why it was cut; empty while it was not
}

// slotFrom returns the read slot of ctx, or nil outside the limiter.
func slotFrom(ctx context.Context) *readSlot {
	s, _ := ctx.Value(readSlotKey{}).(*readSlot)
	return s
}

// cut ends the read for reason, once: the request's context is cancelled,
// which ends its upstream fetches and builds, and the limiter counts and
// logs the cut when the handler has returned. It returns the error the
// stream's writes fail with.
func (s *readSlot) cut(reason string) error {
	s.mu.Lock()
	first := s.why == ""
	if first {
		s.why = reason
	}
	s.mu.Unlock()
	if first {
		s.cancel(errStreamCut)
	}
	return errStreamCut
}

// wasCut reports whether the read was cut.
func (s *readSlot) wasCut() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.why != ""
}

// outcome returns why the read was cut (empty if it was not) and the
// bytes it streamed.
func (s *readSlot) outcome() (why string, sent int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.why, s.sent
}

func (s *readSlot) addSent(n int64) {
	s.mu.Lock()
	s.sent += n
	s.mu.Unlock()
}
