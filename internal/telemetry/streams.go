package telemetry

import (
	"io"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Streams counts streamed response bodies (filesystem tars, blobs): how many
// are being sent and how many bytes went out. A nil *Streams is valid and
// counts nothing.
type Streams struct {
	active prometheus.Gauge
	bytes  prometheus.Counter
}

func newStreams() *Streams {
	return &Streams{
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "streams_active",
			Help: "Response bodies being streamed.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "stream_bytes_total",
			Help: "Bytes of streamed response bodies written to clients.",
		}),
	}
}

// Start marks a stream as active and returns the function that ends it;
// calling that function more than once ends the stream once.
//
//	defer m.Streams.Start()()
func (s *Streams) Start() (done func()) {
	if s == nil {
		return func() {}
	}
	s.active.Inc()
	var once sync.Once
	return func() { once.Do(s.active.Dec) }
}

// Add counts n bytes streamed. Negative n is ignored.
func (s *Streams) Add(n int64) {
	if s == nil || n <= 0 {
		return
	}
	s.bytes.Add(float64(n))
}

// Writer returns w counting every byte written through it with Add.
func (s *Streams) Writer(w io.Writer) io.Writer {
	if s == nil {
		return w
	}
	return &countingWriter{w: w, s: s}
}

type countingWriter struct {
	w io.Writer
	s *Streams
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.s.Add(int64(n))
	return n, err
}

// Flush flushes the wrapped writer when it can, so a counted response body
// still streams.
func (c *countingWriter) Flush() {
	if f, ok := c.w.(interface{ Flush() }); ok {
		f.Flush()
	}
}
