package handlers

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// limiter bounds the requests inside the handlers it wraps, together. It
// never queues: a request beyond the limit is answered 503 TOO_BUSY with
// Retry-After at once, so a burst cannot pile up goroutines, upstream
// connections and memory behind a few long extracts.
type limiter struct {
	logger     *slog.Logger
	slots      chan struct{}
	retryAfter time.Duration
}

func newLimiter(logger *slog.Logger, n int, retryAfter time.Duration) *limiter {
	return &limiter{logger: logger, slots: make(chan struct{}, n), retryAfter: retryAfter}
}

// wrap returns next behind the limiter's shared slots.
func (l *limiter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case l.slots <- struct{}{}:
			defer func() { <-l.slots }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", strconv.Itoa(int(l.retryAfter.Seconds())))
			writeError(w, r, l.logger, errorf(codeTooBusy,
				"%d image reads (extract, files) are in progress, the server's limit; retry after the number of seconds in Retry-After", cap(l.slots)))
		}
	})
}
