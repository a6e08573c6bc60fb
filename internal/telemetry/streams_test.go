package telemetry

import (
	"bytes"
	"testing"
)

func TestStreams(t *testing.T) {
	m, reg, _ := newTestMetrics(t)
	s := m.Streams
	done1 := s.Start()
	done2 := s.Start()
	if got := series(t, reg, "regapi_streams_active")[""]; got != 2 {
		t.Errorf("regapi_streams_active after two Start = %v, want 2", got)
	}
	done1()
	done1() // idempotent
	if got := series(t, reg, "regapi_streams_active")[""]; got != 1 {
		t.Errorf("regapi_streams_active after one done (called twice) = %v, want 1", got)
	}
	done2()
	s.Add(10)
	s.Add(-5)
	var buf bytes.Buffer
	if _, err := s.Writer(&buf).Write([]byte("12345")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := series(t, reg, "regapi_stream_bytes_total")[""]; got != 15 {
		t.Errorf("regapi_stream_bytes_total = %v, want 15", got)
	}
	if got := series(t, reg, "regapi_streams_active")[""]; got != 0 {
		t.Errorf("regapi_streams_active at the end = %v, want 0", got)
	}
}

func TestStreamsNil(t *testing.T) {
	var s *Streams
	s.Start()()
	s.Add(3)
	var buf bytes.Buffer
	w := s.Writer(&buf)
	if w != &buf {
		t.Errorf("(*Streams)(nil).Writer(w) = %v, want w itself", w)
	}
}
