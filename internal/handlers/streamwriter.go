package handlers

import (
	"net/http"
	"sync"
	"time"
)

// streamWriter writes a streamed response body: the status line goes out
// lazily with the first byte, and bytes are counted. Three rules bound the
// time a stream may hold its read slot, each a deadline on every write and
// flush:
//
//   - idle: every write must complete within Reads.IdleTimeout of its
//     start (refreshed each time, so only a client that stops reading is
//     cut by it, never a long download);
//   - rate: once IdleTimeout has passed since the stream began, the bytes
//     sent must average Reads.MinRate (each byte buys 1/MinRate seconds),
//     so a client, or an upstream, that trickles is cut;
//   - duration: the read ends at its slot's end (Reads.MaxDuration).
//
// The rate and duration deadlines are also watched between writes (a
// timer cancels the read), so a stream whose upstream stalls is cut as one
// whose client does. A cut cancels the read and is counted and logged once
// (readSlot.cut, then the limiter); every write after it fails, and the
// handler aborts the response, so the client sees a broken transfer, never
// a short one.
//
// Writes go through http.ResponseController, which reaches the server's
// connection through middleware wrappers that implement Unwrap.
type streamWriter struct {
	w       http.ResponseWriter
	r       *http.Request
	rc      *http.ResponseController
	idle    time.Duration
	minRate int64
	now     func() time.Time
	begun   time.Time // the rate's grace runs from here
	slot    *readSlot // nil outside the limiter (HEAD answers, tests)
	streams Streams
	// status and contentType are sent by start.
	status      int
	contentType string
	started     bool
	deadline    bool   // a write deadline was set and must be cleared
	sent        int64  // bytes written
	bound       string // the rule of the deadline in force: cutIdle, cutSlow or cutDuration

	timerMu sync.Mutex
	timer   *time.Timer // cuts the read at the rate or duration deadline
	armed   string      // the rule the timer enforces
	stopped bool
}

func newStreamWriter(w http.ResponseWriter, r *http.Request, reads Reads, streams Streams, contentType string) *streamWriter {
	now := reads.now
	if now == nil {
		now = time.Now
	}
	return &streamWriter{w: w, r: r, rc: http.NewResponseController(w), idle: reads.IdleTimeout,
		minRate: reads.MinRate, now: now, begun: now(), slot: slotFrom(r.Context()), streams: streams,
		status: http.StatusOK, contentType: contentType}
}

// start sends the status line and headers, once.
func (s *streamWriter) start() {
	if s.started {
		return
	}
	s.started = true
	s.w.Header().Set("Content-Type", s.contentType)
	setCacheStatus(s.w, s.r)
	s.w.WriteHeader(s.status)
}

// Write sends p within the deadline of the rules above.
func (s *streamWriter) Write(p []byte) (int, error) {
	s.start()
	if err := s.refresh(); err != nil {
		return 0, err
	}
	n, err := s.w.Write(p)
	s.sent += int64(n)
	s.streams.Add(int64(n))
	if s.slot != nil {
		s.slot.addSent(int64(n))
		if err != nil && isTimeout(err) {
			return n, s.slot.cut(s.bound)
		}
	}
	return n, err
}

// Flush sends what the server buffered. Flatten calls it before it waits
// for layer data, so produced bytes never sit in buffers; it refreshes the
// deadline too, since the wait may have outlasted the last one.
func (s *streamWriter) Flush() error {
	if !s.started {
		return nil // nothing written: the status may still be an error's
	}
	if err := s.refresh(); err != nil {
		return err
	}
	err := s.rc.Flush()
	if err != nil && s.slot != nil && isTimeout(err) {
		return s.slot.cut(s.bound)
	}
	return err
}

// refresh sets the deadline of the coming write, the earliest of the
// rules', in real time however s.now runs, and re-arms the timer of the
// rate and duration rules. One already past cuts the read.
func (s *streamWriter) refresh() error {
	if s.slot.wasCut() {
		return errStreamCut
	}
	now := s.now()
	var d time.Time
	bound := ""
	if s.slot != nil {
		d, bound = s.slot.end, cutDuration
		if s.minRate > 0 {
			// Bytes sent buy time at minRate, after a first idle period
			// for the transfer to get going.
			credit := time.Duration(float64(s.sent) / float64(s.minRate) * float64(time.Second))
			if t := s.begun.Add(s.idle + credit); t.Before(d) {
				d, bound = t, cutSlow
			}
		}
		left := d.Sub(now)
		if left <= 0 {
			return s.slot.cut(bound)
		}
		s.arm(left, bound)
	}
	if s.idle > 0 && (d.IsZero() || now.Add(s.idle).Before(d)) {
		d, bound = now.Add(s.idle), cutIdle
	}
	if d.IsZero() {
		return nil
	}
	s.bound = bound
	// ErrNotSupported on writers that cannot (a recorder): nothing to cut.
	if s.rc.SetWriteDeadline(time.Now().Add(d.Sub(now))) == nil {
		s.deadline = true
	}
	return nil
}

// arm (re)starts the timer that cuts the read at its rate or duration
// deadline if no write moves it first: the stream may be waiting for an
// upstream that stalls, with no write pending for a deadline to end.
func (s *streamWriter) arm(left time.Duration, bound string) {
	s.timerMu.Lock()
	defer s.timerMu.Unlock()
	if s.stopped {
		return
	}
	s.armed = bound
	if s.timer == nil {
		s.timer = time.AfterFunc(left, func() { _ = s.slot.cut(s.armedBound()) })
		return
	}
	s.timer.Reset(left)
}

// armedBound is the rule the timer enforces, read when it fires.
func (s *streamWriter) armedBound() string {
	s.timerMu.Lock()
	defer s.timerMu.Unlock()
	return s.armed
}

// finish clears the write deadline and stops the timer. net/http resets
// the deadline between requests only when the server has a WriteTimeout,
// which regapi's does not; left set, it would break the next response on a
// kept-alive connection.
func (s *streamWriter) finish() {
	s.timerMu.Lock()
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timerMu.Unlock()
	if s.deadline {
		_ = s.rc.SetWriteDeadline(time.Time{})
	}
}
