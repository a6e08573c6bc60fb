package handlers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// The server has no ReadTimeout: it would also cut the responses that
// stream for minutes (Go cancels a request's context when the connection's
// read deadline passes after its body was read). Instead every request
// with a body gets a deadline of its own, here, before any handler runs:
//
//   - on a route that takes no body (GET, HEAD, DELETE, OPTIONS) the body is
//     never read and the connection is closed after the answer, so nothing
//     waits for bytes that may never come;
//   - elsewhere the body must arrive within Config.BodyTimeout, and an
//     upload's within its rate rules (bodyClock.upload); past either, reads
//     fail with errBodyTimeout, answered 408;
//   - an error answer to a request whose body was not read to its end
//     closes the connection (writeError), instead of the server draining
//     the rest of a body that may be stalled (stopReading).
//
// Once a body has been read to its end the deadline is lifted, so writing
// a long answer is not cut short.

// errBodyTimeout is the read error of a body that did not arrive in time.
var errBodyTimeout = errorf(codeRequestTimeout, "the request body did not arrive in time; the connection is closed")

// BodyTimeouts counts request bodies cut for arriving too slowly;
// telemetry's *Connections satisfies it.
type BodyTimeouts interface {
	BodyTimeout()
}

type bodyClockKey struct{}

// bodyClock is the deadline policy of one request body and what has been
// read of it.
type bodyClock struct {
	rc      *http.ResponseController
	counter BodyTimeouts

	mu      sync.Mutex
	start   time.Time // when the rule in force began
	end     time.Time // the fixed deadline; for an upload, its overall bound
	idle    time.Duration
	minRate int64 // bytes per second; 0 means none
	read    int64
	eof     bool
	failed  bool
	noDL    bool // the connection takes no deadlines (a recorder in tests)
}

// boundBody applies the rules above with timeout for ordinary bodies.
func boundBody(timeout time.Duration, counter BodyTimeouts) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
				next.ServeHTTP(w, r)
				return
			}
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodOptions:
				// No route reads it; draining it after the answer could
				// wait for ever. HTTP/2 streams need no such care.
				if r.ProtoMajor == 1 {
					w.Header().Set("Connection", "close")
					stopReading(w)
				}
				r.Body = http.NoBody
				next.ServeHTTP(w, r)
				return
			}
			c := &bodyClock{rc: http.NewResponseController(w), counter: counter, start: time.Now()}
			c.end = c.start.Add(timeout)
			c.setDeadline(c.end)
			r.Body = &clockedBody{rc: r.Body, c: c}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyClockKey{}, c)))
		})
	}
}

// bodyUnread reports whether r's body was neither read to its end nor
// absent: an answer to it should close the connection.
func bodyUnread(r *http.Request) bool {
	c, ok := r.Context().Value(bodyClockKey{}).(*bodyClock)
	if !ok {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.eof
}

// stopReading makes every further read of w's connection fail at once. Go's
// server reads what is left of an unread body before it closes a
// connection, even one answered with "Connection: close"; this ends that
// read at once instead of when a stalled client sends the rest.
func stopReading(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

// uploadRules switches r's body to the upload rules, from now on: each read
// must come within idle of the last one, the body must average minRate
// bytes per second once idle has passed, and all of it must arrive within
// maxDuration. A client that sends a byte now and then cannot hold an upload
// slot for longer than idle.
func uploadRules(r *http.Request, idle time.Duration, minRate int64, maxDuration time.Duration) {
	c, ok := r.Context().Value(bodyClockKey{}).(*bodyClock)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.start = time.Now()
	c.end = c.start.Add(maxDuration)
	c.idle, c.minRate = idle, minRate
	c.read = 0
}

// next returns the deadline for the coming read. Called with c.mu held.
func (c *bodyClock) next(now time.Time) time.Time {
	d := c.end
	if c.idle <= 0 {
		return d
	}
	if t := now.Add(c.idle); t.Before(d) {
		d = t
	}
	if c.minRate > 0 {
		// The bytes read so far buy time at minRate, after a first idle
		// period for the connection to get going.
		credit := time.Duration(float64(c.read) / float64(c.minRate) * float64(time.Second))
		if t := c.start.Add(c.idle + credit); t.Before(d) {
			d = t
		}
	}
	return d
}

func (c *bodyClock) setDeadline(t time.Time) {
	if c.noDL {
		return
	}
	if err := c.rc.SetReadDeadline(t); err != nil {
		c.noDL = true
	}
}

// clockedBody is a request body read under its bodyClock.
type clockedBody struct {
	rc io.ReadCloser
	c  *bodyClock
}

func (b *clockedBody) Read(p []byte) (int, error) {
	c := b.c
	c.mu.Lock()
	if c.failed {
		c.mu.Unlock()
		return 0, errBodyTimeout
	}
	now := time.Now()
	d := c.next(now)
	if !now.Before(d) {
		c.failed = true
		c.mu.Unlock()
		c.counter.BodyTimeout()
		return 0, errBodyTimeout
	}
	c.setDeadline(d)
	c.mu.Unlock()

	n, err := b.rc.Read(p)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.read += int64(n)
	switch {
	case err == io.EOF:
		c.eof = true
		// Lifted, so that the server's watch for the client going away,
		// which starts now, does not end the request at the deadline.
		c.setDeadline(time.Time{})
	case err != nil && isTimeout(err):
		c.failed = true
		c.counter.BodyTimeout()
		return n, errBodyTimeout
	}
	return n, err
}

func (b *clockedBody) Close() error { return b.rc.Close() }

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// nopBodyTimeouts counts nothing.
type nopBodyTimeouts struct{}

func (nopBodyTimeouts) BodyTimeout() {}
