package telemetry

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

// A streamed body reaches the client chunk by chunk through the middleware:
// the handler blocks after the first flush until the client has read the
// first chunk, which only a working Flush allows.
func TestResponseWriterFlushes(t *testing.T) {
	m, reg, logs := newTestMetrics(t)
	clientRead := make(chan struct{})
	handlerErr := make(chan string, 4)
	r := chi.NewRouter()
	r.Use(AssignRequestID, m.Middleware)
	// GET /stream
	r.Get("/stream", func(w http.ResponseWriter, r *http.Request) {
		done := m.Streams.Start()
		defer done()
		if _, ok := w.(http.Flusher); !ok {
			handlerErr <- "ResponseWriter is not an http.Flusher"
		}
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			handlerErr <- "SetWriteDeadline through the wrapper: " + err.Error()
		}
		out := m.Streams.Writer(w)
		_, _ = io.WriteString(out, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-clientRead:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(out, "second\n")
	})
	srv := serve(t, r)

	// Without working flushes the first read would block: bound it.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/stream", nil)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET /stream: %v", err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk = %q, %v; want %q", line, err, "first\n")
	}
	if got := series(t, reg, "regapi_streams_active")[""]; got != 1 {
		t.Errorf("regapi_streams_active during the stream = %v, want 1", got)
	}
	close(clientRead)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "second\n" {
		t.Fatalf("rest = %q, %v; want %q", rest, err, "second\n")
	}
	entry := logs.nextMsg(t, "request")
	if entry["bytes"] != float64(len("first\nsecond\n")) || entry["status"] != 200.0 {
		t.Errorf("logged bytes, status = %v, %v; want %d, 200", entry["bytes"], entry["status"], len("first\nsecond\n"))
	}
	close(handlerErr)
	for msg := range handlerErr {
		t.Error(msg)
	}
	if got := series(t, reg, "regapi_streams_active")[""]; got != 0 {
		t.Errorf("regapi_streams_active after the stream = %v, want 0", got)
	}
	if got := series(t, reg, "regapi_stream_bytes_total")[""]; got != float64(len("first\nsecond\n")) {
		t.Errorf("regapi_stream_bytes_total = %v, want %d", got, len("first\nsecond\n"))
	}
}

func TestResponseWriterStatusAndBytes(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantBytes  int64
	}{
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {}, 200, 0},
		{"write only", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("abc")) }, 200, 3},
		{"explicit status", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("ab"))
		}, 201, 2},
		{"second WriteHeader ignored", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			w.WriteHeader(http.StatusInternalServerError)
		}, 202, 0},
		{"early hints then final", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusNotFound)
		}, 404, 0},
		{"io.Copy uses ReadFrom", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(w, strings.NewReader(strings.Repeat("x", 10000)))
		}, 200, 10000},
		{"flush before write", func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte("z"))
		}, 200, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rw *responseWriter
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rw = &responseWriter{ResponseWriter: w}
				tt.handler(rw, r)
			}))
			resp, body := get(t, srv.Client(), srv.URL)
			if got := rw.statusCode(); got != tt.wantStatus || resp.StatusCode != tt.wantStatus {
				t.Errorf("status recorded %d, sent %d; want %d", got, resp.StatusCode, tt.wantStatus)
			}
			if rw.bytes != tt.wantBytes || int64(len(body)) != tt.wantBytes {
				t.Errorf("bytes recorded %d, received %d; want %d", rw.bytes, len(body), tt.wantBytes)
			}
		})
	}
}
