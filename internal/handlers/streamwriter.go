package handlers

import (
	"net/http"
	"time"
)

// streamWriter writes a streamed response body: the status line goes out
// lazily with the first byte, every write and flush must complete within
// the idle timeout (refreshed each time, so only a client that stops
// reading is cut, never a long download), and bytes are counted.
//
// Writes go through http.ResponseController, which reaches the server's
// connection through middleware wrappers that implement Unwrap.
type streamWriter struct {
	w       http.ResponseWriter
	r       *http.Request
	rc      *http.ResponseController
	idle    time.Duration
	streams Streams
	// status and contentType are sent by start.
	status      int
	contentType string
	started     bool
	deadline    bool // a write deadline was set and must be cleared
}

func newStreamWriter(w http.ResponseWriter, r *http.Request, idle time.Duration, streams Streams, contentType string) *streamWriter {
	return &streamWriter{w: w, r: r, rc: http.NewResponseController(w), idle: idle, streams: streams,
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

// Write sends p, refreshing the idle deadline first.
func (s *streamWriter) Write(p []byte) (int, error) {
	s.start()
	s.refresh()
	n, err := s.w.Write(p)
	s.streams.Add(int64(n))
	return n, err
}

// Flush sends what the server buffered. Flatten calls it before it waits
// for layer data, so produced bytes never sit in buffers; it refreshes the
// deadline too, since the wait may have outlasted the last one.
func (s *streamWriter) Flush() error {
	if !s.started {
		return nil // nothing written: the status may still be an error's
	}
	s.refresh()
	return s.rc.Flush()
}

func (s *streamWriter) refresh() {
	if s.idle <= 0 {
		return
	}
	// ErrNotSupported on writers that cannot (a recorder): nothing to cut.
	if s.rc.SetWriteDeadline(time.Now().Add(s.idle)) == nil {
		s.deadline = true
	}
}

// finish clears the write deadline. net/http resets it between requests
// only when the server has a WriteTimeout, which regapi's does not; left
// set, it would break the next response on a kept-alive connection.
func (s *streamWriter) finish() {
	if s.deadline {
		_ = s.rc.SetWriteDeadline(time.Time{})
	}
}
