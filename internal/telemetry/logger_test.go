package telemetry

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		format, level string
		wantErr       bool
		debugShown    bool
		infoShown     bool
		json          bool
	}{
		{format: "", level: "", infoShown: true, json: true},
		{format: "json", level: "info", infoShown: true, json: true},
		{format: "JSON", level: "DEBUG", debugShown: true, infoShown: true, json: true},
		{format: "text", level: "warn"},
		{format: "text", level: "debug", debugShown: true, infoShown: true},
		{format: "json", level: "error"},
		{format: "xml", level: "info", wantErr: true},
		{format: "json", level: "verbose", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+tt.level, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := NewLogger(&buf, tt.format, tt.level)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewLogger(%q, %q) error = %v, want error %v", tt.format, tt.level, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			l.Debug("dbg")
			l.Info("inf")
			out := buf.String()
			if got := strings.Contains(out, "dbg"); got != tt.debugShown {
				t.Errorf("debug shown = %v, want %v (output %q)", got, tt.debugShown, out)
			}
			if got := strings.Contains(out, "inf"); got != tt.infoShown {
				t.Errorf("info shown = %v, want %v (output %q)", got, tt.infoShown, out)
			}
			if tt.infoShown {
				first := strings.SplitN(out, "\n", 2)[0]
				if got := json.Valid([]byte(first)); got != tt.json {
					t.Errorf("line %q is JSON = %v, want %v", first, got, tt.json)
				}
			}
		})
	}
}

// Records logged with a request's context carry its ID, also through
// With and WithGroup, and never twice.
func TestLoggerAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	ctx := ContextWithRequestID(t.Context(), "rid-9")
	l.InfoContext(ctx, "a")
	l.With("k", "v").InfoContext(ctx, "b")
	l.InfoContext(ctx, "c", "request_id", "explicit")
	l.InfoContext(t.Context(), "d")
	l.WithGroup("g").InfoContext(ctx, "e", "x", 1)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"rid-9", "rid-9", "explicit", "", ""}
	for i, line := range lines[:4] {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got, _ := m["request_id"].(string)
		if got != want[i] {
			t.Errorf("line %d request_id = %q, want %q", i, got, want[i])
		}
		if n := strings.Count(line, "request_id"); n > 1 {
			t.Errorf("line %q has request_id %d times", line, n)
		}
	}
	if !strings.Contains(lines[4], "rid-9") {
		t.Errorf("grouped line %q lacks the request ID", lines[4])
	}
	var _ slog.Handler = requestIDHandler{}
}

// TestLoggerDurationsInMicroseconds: every duration is logged in whole
// microseconds under key_us, in both formats, the access log's unit.
func TestLoggerDurationsInMicroseconds(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		l, err := NewLogger(&buf, format, "info")
		if err != nil {
			t.Fatal(err)
		}
		l.Info("stopped", "took", 1500*time.Millisecond, slog.Group("g", slog.Duration("grace", 2*time.Second)))
		out := buf.String()
		for _, want := range []string{"took_us", "1500000", "grace_us", "2000000"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q lacks %q", format, out, want)
			}
		}
		if strings.Contains(out, "1500000000") || strings.Contains(out, "1.5s") {
			t.Errorf("%s: a duration in another unit: %q", format, out)
		}
	}
}
