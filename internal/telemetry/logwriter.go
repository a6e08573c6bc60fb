package telemetry

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// LogWriter holds log lines in memory and writes them out in batches: when
// the oldest buffered line is interval old, when the buffer fills, on Flush
// and on Close. At one access-log line per request a direct writer costs a
// write system call per request, about a tenth of a cached answer's CPU;
// batching makes it one call per buffer or per interval. The logger from
// NewLogger flushes after every record at Warn or above, so problems are
// never held back.
//
// What is buffered when the process dies without Close (SIGKILL, an
// unrecovered panic outside a handler) is lost: at most interval's worth of
// lines.
type LogWriter struct {
	interval time.Duration

	mu      sync.Mutex
	buf     *bufio.Writer // nil once closed: writes go straight through
	out     io.Writer
	pending *time.Timer // armed while the buffer holds unwritten lines
}

// NewLogWriter buffers up to size bytes for w and writes them out at least
// every interval. An interval of 0 or less returns nil, which callers use
// as "no buffering" (see Writer).
func NewLogWriter(w io.Writer, size int, interval time.Duration) *LogWriter {
	if interval <= 0 {
		return nil
	}
	return &LogWriter{interval: interval, buf: bufio.NewWriterSize(w, size), out: w}
}

// Writer returns the writer log records should go to: l, or w itself when
// l is nil (buffering off).
func (l *LogWriter) Writer(w io.Writer) io.Writer {
	if l == nil {
		return w
	}
	return l
}

// Write buffers p (one record, as slog writes it) and arms the timer that
// writes it out.
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf == nil {
		return l.out.Write(p)
	}
	n, err := l.buf.Write(p)
	if l.buf.Buffered() > 0 && l.pending == nil {
		l.pending = time.AfterFunc(l.interval, l.flushTimer)
	}
	return n, err
}

// Flush writes out what is buffered.
func (l *LogWriter) Flush() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked()
}

// Close writes out what is buffered; later writes go straight through, so
// a line logged during shutdown is never lost.
func (l *LogWriter) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.flushLocked()
	l.buf = nil
	return err
}

func (l *LogWriter) flushTimer() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = nil
	_ = l.flushLocked() // nowhere to report it; the next write sees it
}

func (l *LogWriter) flushLocked() error {
	if l.pending != nil {
		l.pending.Stop()
		l.pending = nil
	}
	if l.buf == nil {
		return nil
	}
	return l.buf.Flush()
}

// flusher is what NewLogger's handler flushes after a Warn or Error record.
type flusher interface{ Flush() error }
