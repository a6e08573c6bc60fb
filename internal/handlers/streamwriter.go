package handlers

import (
	"net/http"
	"time"
)

// streamWriter writes a streamed response body: the status line goes out
// lazily with the first byte, and bytes are counted. Three rules bound the
// time a client may keep a stream, and its read slot, waiting; each is a
// deadline on every write and flush:
//
//   - idle: every write must complete within Reads.IdleTimeout of its
//     start (refreshed each time, so only a client that stops reading is
//     cut by it, never a long download);
//   - rate: the time spent waiting for the client (in writes and flushes)
//     must be paid for by bytes at Reads.MinRate, after a first
//     IdleTimeout of it: each byte sent buys 1/MinRate seconds, so a
//     client that takes a trickle is cut. Time spent waiting for the
//     upstream, or skipping what a subtree leaves out, is not the
//     client's and is not counted;
//   - duration: the read ends at its slot's end (Reads.MaxDuration); the
//     slot's context ends then too, whatever the stream waits for.
//
// A cut is counted and logged once (readSlot.cut, then the limiter); every
// write after it fails, and the handler aborts the response, so the client
// sees a broken transfer, never a short one.
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
	slot    *readSlot // nil outside the limiter (HEAD answers, tests)
	streams Streams
	// status and contentType are sent by start.
	status      int
	contentType string
	started     bool
	deadline    bool          // a write deadline was set and must be cleared
	sent        int64         // bytes written
	waited      time.Duration // time spent in writes and flushes: waiting for the client
	bound       string        // the rule of the deadline in force: cutIdle, cutSlow or cutDuration
}

func newStreamWriter(w http.ResponseWriter, r *http.Request, reads Reads, streams Streams, contentType string) *streamWriter {
	now := reads.now
	if now == nil {
		now = time.Now
	}
	return &streamWriter{w: w, r: r, rc: http.NewResponseController(w), idle: reads.IdleTimeout,
		minRate: reads.MinRate, now: now, slot: slotFrom(r.Context()), streams: streams,
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
	began := s.now()
	n, err := s.w.Write(p)
	s.waited += s.now().Sub(began)
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
	began := s.now()
	err := s.rc.Flush()
	s.waited += s.now().Sub(began)
	if err != nil && s.slot != nil && isTimeout(err) {
		return s.slot.cut(s.bound)
	}
	return err
}

// refresh sets the deadline of the coming write, the earliest of the
// rules', in real time however s.now runs. A rule already past cuts the
// read.
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
			// What the client may still make the stream wait: a first
			// idle period for the transfer to get going, plus what the
			// bytes sent bought at minRate, less what it waited so far.
			credit := time.Duration(float64(s.sent) / float64(s.minRate) * float64(time.Second))
			if t := now.Add(s.idle + credit - s.waited); t.Before(d) {
				d, bound = t, cutSlow
			}
		}
		if !now.Before(d) {
			return s.slot.cut(bound)
		}
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

// finish clears the write deadline. net/http resets it between requests
// only when the server has a WriteTimeout, which regapi's does not; left
// set, it would break the next response on a kept-alive connection.
func (s *streamWriter) finish() {
	if s.deadline {
		_ = s.rc.SetWriteDeadline(time.Time{})
	}
}
