package handlers

import (
	"time"

	"github.com/regapi/regapi/internal/extract"
)

// Reads configures the routes that read inside images: extract (a whole
// filesystem as tar) and files (one path). Zero fields take the defaults
// named on each.
type Reads struct {
	// Concurrency bounds the extract and file reads in progress, together:
	// both spend CPU on decompression and upstream bandwidth on layers.
	// Beyond it a request is answered 503 TOO_BUSY with Retry-After at
	// once, never queued. The default value is 4.
	Concurrency int
	// IdleTimeout cuts a response whose client stopped reading: every
	// write must complete within it. It is refreshed before each write,
	// so a long download that keeps moving is never cut. The default
	// value is 1m.
	IdleTimeout time.Duration
	// MaxFileSize caps the regular file the files route serves (413
	// FILE_TOO_LARGE beyond). The default value is 256 MiB.
	MaxFileSize int64
	// IndexBytes bounds the memory of the file indexes kept (one per image
	// digest, each at most 64 MiB): with an image's index the files route
	// answers listings, stats, absent paths and links without reading a
	// layer. Negative keeps none: every request reads the layers. The
	// default value is 128 MiB.
	IndexBytes int64
	// Indexes counts the file indexes' use; nil counts nothing.
	Indexes IndexMetrics
	// Shared, when set, is the fleet's shared cache tier: a file index
	// built by one replica is stored there and read by the others instead
	// of walking the layers again. Nil keeps indexes per process.
	Shared SharedValues
	// LayerCache keeps the layers read on local disk, uncompressed, so
	// that reading an image again (extract, a file's bytes) downloads
	// nothing. The default value, nil, keeps none.
	LayerCache LayerCache
}

// Defaults of Reads.
const (
	// DefaultReadConcurrency: decompression is CPU-bound, so a few at a
	// time keep a small pod responsive.
	DefaultReadConcurrency = 4
	// DefaultStreamIdleTimeout is long enough for a client on a slow link to
	// drain its socket buffers, short enough that a stuck reader frees its
	// slot (and its upstream connections) within a minute.
	DefaultStreamIdleTimeout = time.Minute
	// DefaultMaxFileSize is extract's: large enough for binaries and
	// databases one reads whole.
	DefaultMaxFileSize = extract.DefaultMaxFileSize
	// DefaultIndexBytes holds the indexes of hundreds of typical images
	// (a few hundred KiB to a few MiB each).
	DefaultIndexBytes = 128 << 20
	// busyRetryAfter is the Retry-After of a 503 TOO_BUSY. File reads
	// take milliseconds, extracts seconds; two seconds lets a few finish
	// without a client hammering a full server.
	busyRetryAfter = 2 * time.Second
)

// withDefaults returns r with every zero field set.
func (r Reads) withDefaults() Reads {
	if r.Concurrency <= 0 {
		r.Concurrency = DefaultReadConcurrency
	}
	if r.IdleTimeout <= 0 {
		r.IdleTimeout = DefaultStreamIdleTimeout
	}
	if r.MaxFileSize <= 0 {
		r.MaxFileSize = DefaultMaxFileSize
	}
	if r.IndexBytes == 0 {
		r.IndexBytes = DefaultIndexBytes
	}
	return r
}

// Streams counts streamed response bodies; telemetry's *Streams satisfies
// it. Start marks a stream active and returns the function that ends it;
// Add counts bytes written to the client.
type Streams interface {
	Start() (done func())
	Add(n int64)
}

// noStreams counts nothing.
type noStreams struct{}

func (noStreams) Start() func() { return func() {} }
func (noStreams) Add(int64)     {}

// streamsOr returns s, or a Streams that counts nothing when s is nil.
func streamsOr(s Streams) Streams {
	if s == nil {
		return noStreams{}
	}
	return s
}
