package telemetry

import "github.com/prometheus/client_golang/prometheus"

// FileIndexes counts the use of the per-image file indexes the files route
// keeps in memory (internal/handlers): lookups that found an image's index
// and those that had to build it, and what the indexes hold. A nil
// *FileIndexes is valid and counts nothing.
type FileIndexes struct {
	hits, misses  prometheus.Counter
	bytes, images prometheus.Gauge
}

func newFileIndexes() *FileIndexes {
	return &FileIndexes{
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "file_index", Name: "hits_total",
			Help: "Files requests answered from an image's file index already in memory.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "file_index", Name: "misses_total",
			Help: "Files requests for an image without a file index in memory (each builds it by walking the image's layers).",
		}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "file_index", Name: "bytes",
			Help: "Approximate memory of the file indexes kept.",
		}),
		images: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "file_index", Name: "images",
			Help: "Images whose file index (or whose having none) is kept.",
		}),
	}
}

func (f *FileIndexes) collectors() []prometheus.Collector {
	return []prometheus.Collector{f.hits, f.misses, f.bytes, f.images}
}

// Hit counts a lookup that found the image's index.
func (f *FileIndexes) Hit() {
	if f != nil {
		f.hits.Inc()
	}
}

// Miss counts a lookup that did not.
func (f *FileIndexes) Miss() {
	if f != nil {
		f.misses.Inc()
	}
}

// Set reports the bytes and the number of images the indexes hold.
func (f *FileIndexes) Set(bytes int64, images int) {
	if f != nil {
		f.bytes.Set(float64(bytes))
		f.images.Set(float64(images))
	}
}
