package layercache

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the cache's collectors; the zero value counts nothing.
type metrics struct {
	hits, misses, evictions, diskErrors, corrupted prometheus.Counter
	diskBytes, filledBytes, evictedBytes           prometheus.Counter
	bytes, layers                                  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "regapi", Subsystem: "layer_cache", Name: name, Help: help})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "regapi", Subsystem: "layer_cache", Name: name, Help: help})
	}
	m := &metrics{
		hits:         counter("hits_total", "Layer reads answered from the disk cache."),
		misses:       counter("misses_total", "Layer reads the disk cache did not have (each fills it, or falls back to the registry)."),
		evictions:    counter("evictions_total", "Layers removed to stay within --layer-cache-max-bytes."),
		diskErrors:   counter("disk_errors_total", "Failures of the cache's disk (full, read-only, gone); the layer was read from the registry instead."),
		corrupted:    counter("corrupt_total", "Kept layers that no longer hashed to their digest and were removed."),
		diskBytes:    counter("opened_bytes_total", "Sizes of the uncompressed layers opened from the disk cache (instead of downloaded)."),
		filledBytes:  counter("filled_bytes_total", "Uncompressed layer bytes downloaded from registries into the cache."),
		evictedBytes: counter("evicted_bytes_total", "Bytes of the layers evicted."),
		bytes:        gauge("bytes", "Bytes the cache holds, fills in progress included."),
		layers:       gauge("layers", "Layers the cache holds."),
	}
	for _, c := range []prometheus.Collector{m.hits, m.misses, m.evictions, m.diskErrors, m.corrupted, m.diskBytes, m.filledBytes, m.evictedBytes, m.bytes, m.layers} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("layer cache metrics: %w", err)
		}
	}
	return m, nil
}

func inc(c prometheus.Counter) {
	if c != nil {
		c.Inc()
	}
}

func add(c prometheus.Counter, n int64) {
	if c != nil {
		c.Add(float64(n))
	}
}

func (m *metrics) hit()       { inc(m.hits) }
func (m *metrics) miss()      { inc(m.misses) }
func (m *metrics) corrupt()   { inc(m.corrupted) }
func (m *metrics) diskError() { inc(m.diskErrors) }

func (m *metrics) readFromDisk(n int64) { add(m.diskBytes, n) }
func (m *metrics) filled(n int64)       { add(m.filledBytes, n) }

func (m *metrics) evicted(n int64) {
	inc(m.evictions)
	add(m.evictedBytes, n)
}

func (m *metrics) setSize(bytes int64, layers int) {
	if m.bytes != nil {
		m.bytes.Set(float64(bytes))
		m.layers.Set(float64(layers))
	}
}
