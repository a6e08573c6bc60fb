package telemetry

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// lineLog is an io.Writer for a logger that hands each complete line to the
// test through a channel, so the test can wait for a line written by the
// server goroutine.
type lineLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func newLineLog() *lineLog {
	return &lineLog{lines: make(chan string, 4096)}
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			// Keep the partial line for the next write.
			l.buf.Reset()
			l.buf.WriteString(line)
			return len(p), nil
		}
		l.lines <- strings.TrimSuffix(line, "\n")
	}
}

// next returns the next line as a JSON object, failing after a generous
// bound so a missing line fails the test instead of hanging it.
func (l *lineLog) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case line := <-l.lines:
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no log line within 10s")
		return nil
	}
}

// nextMsg skips lines until one with msg, returning it.
func (l *lineLog) nextMsg(t *testing.T, msg string) map[string]any {
	t.Helper()
	for {
		m := l.next(t)
		if m["msg"] == msg {
			return m
		}
	}
}

// newTestMetrics returns metrics on a fresh registry logging JSON into the
// returned lineLog.
func newTestMetrics(t *testing.T) (*Metrics, *prometheus.Registry, *lineLog) {
	t.Helper()
	reg := prometheus.NewRegistry()
	logs := newLineLog()
	logger, err := NewLogger(logs, "json", "debug")
	if err != nil {
		t.Fatalf("NewLogger: %v", err)
	}
	m, err := NewMetrics(reg, WithLogger(logger), WithBuildInfo("v1.2.3", "abc123"), WithRuntimeMetrics(false))
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	return m, reg, logs
}

// series returns the samples of metric family name keyed by their labels
// ("a=x,b=y", sorted): counter and gauge values, histogram sample counts.
func series(t *testing.T, g prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[labelKey(m)] = sampleValue(m)
		}
	}
	return out
}

func labelKey(m *dto.Metric) string {
	var parts []string
	for _, lp := range m.GetLabel() {
		parts = append(parts, lp.GetName()+"="+lp.GetValue())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

// get sends a GET with optional headers and returns the response with its
// body read.
func get(t *testing.T, c *http.Client, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	return do(t, c, http.MethodGet, url, hdr...)
}

func do(t *testing.T, c *http.Client, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatalf("NewRequest(%s %s): %v", method, url, err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(bufio.NewReader(resp.Body))
	if err != nil {
		t.Fatalf("read %s %s: %v", method, url, err)
	}
	return resp, string(b)
}

// serve starts h on a loopback test server closed at the end of the test.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
