package config

import (
	"fmt"
	"time"
)

// Defaults of the image-reading routes (extract, files).
const (
	// DefaultReadConcurrency bounds the extracts and file reads in
	// progress, together; beyond it callers get 503 and Retry-After.
	DefaultReadConcurrency = 4
	// DefaultStreamIdleTimeout cuts a response whose client stopped
	// reading; a download that keeps moving is never cut.
	DefaultStreamIdleTimeout = time.Minute
	// DefaultMaxFileSize caps the file the files route serves.
	DefaultMaxFileSize = 256 << 20
	// DefaultMaxImageRows is the most rows the image table computes for
	// a sort or filter that needs every row (sort=created, digest=).
	DefaultMaxImageRows = 5000
	// DefaultLayerCacheMaxBytes bounds the layer cache's directory when
	// one is given: a few dozen typical images, uncompressed.
	DefaultLayerCacheMaxBytes = 8 << 30
)

// Reads configures GET …/-/extract/{reference} and …/-/files/{reference}/{path}.
// Zero fields take the defaults.
type Reads struct {
	// Concurrency bounds the extracts and file reads in progress,
	// together; beyond it the answer is 503 with Retry-After, never a
	// queue. Default 4.
	Concurrency int `json:"concurrency,omitempty"`
	// StreamIdleTimeout cuts a response whose client stopped reading for
	// this long. Default 1m.
	StreamIdleTimeout Duration `json:"stream_idle_timeout,omitempty"`
	// MaxFileSize caps the regular file the files route serves (413
	// beyond). Default 256MiB.
	MaxFileSize ByteSize `json:"max_file_size,omitempty"`
	// MaxImageRows is the most tags the image table computes rows for to
	// answer sort=created or digest= (400 TOO_MANY_TAGS beyond). Default
	// 5000.
	MaxImageRows int `json:"max_image_rows,omitempty"`
	// LayerCacheDir keeps the layers read, uncompressed, in this
	// directory (regapi's alone), so that reading an image again
	// downloads nothing. Default empty: no layer cache.
	LayerCacheDir string `json:"layer_cache_dir,omitempty"`
	// LayerCacheMaxBytes bounds the bytes kept in LayerCacheDir, least
	// recently used layers going first. Default 8GiB.
	LayerCacheMaxBytes ByteSize `json:"layer_cache_max_bytes,omitempty"`
}

// WithDefaults returns r with every zero field set to its default.
func (r Reads) WithDefaults() Reads {
	if r.Concurrency == 0 {
		r.Concurrency = DefaultReadConcurrency
	}
	if r.StreamIdleTimeout == 0 {
		r.StreamIdleTimeout = Duration(DefaultStreamIdleTimeout)
	}
	if r.MaxFileSize == 0 {
		r.MaxFileSize = DefaultMaxFileSize
	}
	if r.MaxImageRows == 0 {
		r.MaxImageRows = DefaultMaxImageRows
	}
	if r.LayerCacheMaxBytes == 0 {
		r.LayerCacheMaxBytes = DefaultLayerCacheMaxBytes
	}
	return r
}

// Validate reports a setting no read could work with.
func (r Reads) Validate() error {
	if r.Concurrency < 0 || r.StreamIdleTimeout < 0 || r.MaxFileSize < 0 || r.MaxImageRows < 0 || r.LayerCacheMaxBytes < 0 {
		return fmt.Errorf("reads: concurrency, stream_idle_timeout, max_file_size, max_image_rows and layer_cache_max_bytes must not be negative")
	}
	return nil
}
