package telemetry

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineSink records what reaches the real output and signals each write.
type lineSink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	wrote  chan struct{}
}

func newLineSink() *lineSink { return &lineSink{wrote: make(chan struct{}, 1000)} }

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	s.buf.Write(p)
	s.wrote <- struct{}{}
	return len(p), nil
}

func (s *lineSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *lineSink) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Info lines wait in the buffer; a Warn line takes them out at once, in
// order; Close writes the rest and later lines go straight through.
func TestLogWriterHoldsInfoFlushesWarn(t *testing.T) {
	sink := newLineSink()
	lw := NewLogWriter(sink, 64<<10, time.Hour)
	l, err := NewLogger(lw.Writer(sink), "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		l.Info("request", "n", i)
	}
	if got := sink.String(); got != "" {
		t.Fatalf("100 info lines reached the output before any flush: %q", got[:min(len(got), 200)])
	}
	l.Warn("upstream slow")
	out := sink.String()
	if got := strings.Count(out, "\n"); got != 101 {
		t.Fatalf("after a warning the output has %d lines, want 101", got)
	}
	if !strings.Contains(out, `"n":0`) || !strings.HasSuffix(strings.TrimSpace(out), `"msg":"upstream slow"}`) {
		t.Errorf("lines out of order or missing:\n%s", out)
	}
	if got := sink.Writes(); got != 1 {
		t.Errorf("101 lines took %d writes, want 1", got)
	}

	l.Info("held")
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sink.String(), `"msg":"held"`) {
		t.Errorf("Close did not write out the buffered line")
	}
	l.Info("after close")
	if !strings.Contains(sink.String(), `"msg":"after close"`) {
		t.Errorf("a line logged after Close was held back")
	}
}

// Without a warning, the interval writes the lines out.
func TestLogWriterFlushesAfterInterval(t *testing.T) {
	sink := newLineSink()
	lw := NewLogWriter(sink, 64<<10, time.Millisecond)
	defer func() {
		if err := lw.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	}()
	for _, line := range []string{"one", "two"} {
		if _, err := fmt.Fprintln(lw, line); err != nil {
			t.Fatalf("Fprintln(%q) = %v", line, err)
		}
	}
	select {
	case <-sink.wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("buffered lines not written out 10 s after a 1 ms interval")
	}
	if got := sink.String(); got != "one\ntwo\n" {
		t.Errorf("output = %q, want both lines", got)
	}
	// The timer re-arms for the next line.
	if _, err := fmt.Fprintln(lw, "three"); err != nil {
		t.Fatalf("Fprintln(three) = %v", err)
	}
	select {
	case <-sink.wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("a line after the first flush was not written out")
	}
	if got := sink.String(); got != "one\ntwo\nthree\n" {
		t.Errorf("output = %q", got)
	}
}

// A full buffer is written out without waiting for the interval, and
// concurrent writers never interleave within a line.
func TestLogWriterFullBufferAndConcurrency(t *testing.T) {
	sink := newLineSink()
	lw := NewLogWriter(sink, 4096, time.Hour)
	line := strings.Repeat("x", 99) + "\n"
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, err := lw.Write([]byte(line)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := sink.Writes(); got < 800*100/4096 {
		t.Errorf("80,000 bytes through a 4 KiB buffer took %d writes before Flush, want about 19", got)
	}
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	out := sink.String()
	if len(out) != 800*len(line) || strings.Count(out, line) != 800 {
		t.Errorf("output has %d bytes, %d whole lines; want %d bytes, 800 lines", len(out), strings.Count(out, line), 800*len(line))
	}
}

// Interval 0 means no buffering: Writer hands back the real output.
func TestLogWriterOff(t *testing.T) {
	var buf bytes.Buffer
	lw := NewLogWriter(&buf, 64<<10, 0)
	if lw != nil {
		t.Fatalf("NewLogWriter with interval 0 = %v, want nil", lw)
	}
	if w := lw.Writer(&buf); w != &buf {
		t.Errorf("Writer of a nil LogWriter = %T, want the output itself", w)
	}
	if err := lw.Flush(); err != nil {
		t.Error(err)
	}
	if err := lw.Close(); err != nil {
		t.Error(err)
	}
}
