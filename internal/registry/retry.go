package registry

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// retryTransport retries transient failures: 408, 429, 5xx gateway errors
// and connection resets. It sits below ggcr's auth layer, so a retry resends
// the same token. A 429 whose Retry-After exceeds Options.MaxRetryAfter is
// returned at once, for the caller to see a *RateLimitError.
type retryTransport struct {
	inner         http.RoundTripper
	maxRetries    int
	maxRetryAfter time.Duration
	// backoff is the delay before retry number attempt (0-based).
	backoff func(attempt int) time.Duration
	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
}

func newRetryTransport(inner http.RoundTripper, o *Options) *retryTransport {
	return &retryTransport{
		inner:         inner,
		maxRetries:    o.MaxRetries,
		maxRetryAfter: o.MaxRetryAfter,
		backoff:       exponentialBackoff,
		sleep:         sleepContext,
		now:           time.Now,
	}
}

// exponentialBackoff: 250ms, 500ms, 1s, … capped at 8s, with ±20% jitter so
// that concurrent callers do not retry in lockstep.
func exponentialBackoff(attempt int) time.Duration {
	d := 250 * time.Millisecond << min(attempt, 5)
	// Jitter needs no secrecy: math/rand is the right tool.
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64())) //nolint:gosec // G404: see above
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var retryStatus = map[int]bool{
	http.StatusRequestTimeout:      true,
	http.StatusTooManyRequests:     true,
	http.StatusInternalServerError: true,
	http.StatusBadGateway:          true,
	http.StatusServiceUnavailable:  true,
	http.StatusGatewayTimeout:      true,
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(ctx)
			req.Body = body
		}
		resp, err := t.inner.RoundTrip(req)
		last := attempt >= t.maxRetries || !replayable(req)

		var delay time.Duration
		switch {
		case err != nil:
			if last || ctx.Err() != nil || !transientNetError(err) {
				return nil, err
			}
			delay = t.backoff(attempt)
		case retryStatus[resp.StatusCode]:
			ra, hasRA := parseRetryAfter(resp.Header.Get("Retry-After"), t.now())
			if resp.StatusCode == http.StatusTooManyRequests {
				noteRetryAfter(ctx, ra)
			}
			if last || (hasRA && ra > t.maxRetryAfter) {
				return resp, nil
			}
			delay = t.backoff(attempt)
			if hasRA {
				delay = ra
			}
			drain(resp)
		default:
			return resp, nil
		}
		noteRetry(ctx)
		if err := t.sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// replayable: a request without a body, or one whose body can be rebuilt.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// transientNetError: the connection broke under the request. A timeout is not
// retried: a registry that hangs once will likely hang again, and retries
// would multiply the wait.
func transientNetError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// drain lets the connection be reused before the body is dropped.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close() // the response is being dropped: its errors are moot
}

// callState travels in the context of one operation, so that what the
// transports learn (a Retry-After, the number of retries) reaches the error
// mapping and the log line.
type callState struct {
	retryAfter atomic.Int64 // nanoseconds, from the latest 429
	retries    atomic.Int32
}

type callStateKey struct{}

func withCallState(ctx context.Context) (context.Context, *callState) {
	st := &callState{}
	return context.WithValue(ctx, callStateKey{}, st), st
}

func noteRetryAfter(ctx context.Context, d time.Duration) {
	if st, ok := ctx.Value(callStateKey{}).(*callState); ok {
		st.retryAfter.Store(int64(d))
	}
}

func noteRetry(ctx context.Context) {
	if st, ok := ctx.Value(callStateKey{}).(*callState); ok {
		st.retries.Add(1)
	}
}
