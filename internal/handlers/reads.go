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
	// CallerConcurrency bounds the reads of Concurrency that one caller
	// (a token, or an anonymous caller's address, as auth.CallerKey says)
	// may hold at once; beyond it the caller is answered 503 TOO_BUSY
	// while others still get a slot. The default value, 0, is half of
	// Concurrency, at least 1.
	CallerConcurrency int
	// IdleTimeout cuts a response whose client stopped reading: every
	// write must complete within it. It is refreshed before each write,
	// so a long download that keeps moving is never cut by it. It is also
	// the grace period of MinRate. The default value is 1m.
	IdleTimeout time.Duration
	// MinRate is the rate, in bytes per second, at which a client must
	// take a response body: the time the stream spends waiting for its
	// client, past a first IdleTimeout of it, must be paid for by bytes
	// sent at this rate, so a client that takes a trickle is cut and frees
	// its slot. Waiting for the upstream is not the client's and does not
	// count. The default value is 16 KiB/s.
	MinRate int64
	// MaxDuration bounds one read, from the slot taken to the last byte,
	// whatever its rate: past it the stream is cut, or, before the first
	// byte, the answer is 504. The default value is 4h.
	MaxDuration time.Duration
	// Metrics counts the streams cut and the reads refused; nil counts
	// nothing.
	Metrics ReadMetrics
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

	// now is the clock of the rate and duration rules; nil is time.Now.
	// Tests drive it to play slow readers without waiting.
	now func() time.Time
	// indexWait, when positive, replaces indexWait: tests of what
	// concurrent first reads share wait for the build whatever the load.
	indexWait time.Duration
}

// ReadMetrics counts what the bounds of extract and files did; telemetry's
// *Reads satisfies it.
type ReadMetrics interface {
	// StreamCut counts a read cut by its bounds: reason is "idle" (a write
	// did not complete within IdleTimeout), "slow" (below MinRate) or
	// "duration" (past MaxDuration).
	StreamCut(reason string)
	// Refused counts a read answered 503 TOO_BUSY: reason is "busy" (every
	// slot taken) or "caller" (its caller held its share).
	Refused(reason string)
}

type noReadMetrics struct{}

func (noReadMetrics) StreamCut(string) {}
func (noReadMetrics) Refused(string)   {}

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
	// DefaultStreamMinRate is the uploads' floor: 16 KiB/s (128 kbit/s),
	// averaged after the first minute, is below any link a client pulls
	// images over (a poor mobile link does ten times that), and it ends a
	// trickle like curl --limit-rate 8k, which the idle timeout alone lets
	// hold a slot for 2.3 h on a 64 MiB extract wherever each write still
	// completes within it.
	DefaultStreamMinRate = 16 << 10
	// DefaultReadMaxDuration lets an honest slow client finish the reads
	// people make: a 1 GiB image over a 1 Mbit/s link takes 2.3 h, 16 GiB
	// at 10 Mbit/s 3.6 h. It bounds what the rate does not: waiting for an
	// upstream (an index build, a layer that stalls).
	DefaultReadMaxDuration = 4 * time.Hour
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
	if r.CallerConcurrency <= 0 {
		r.CallerConcurrency = max(1, r.Concurrency/2)
	}
	r.CallerConcurrency = min(r.CallerConcurrency, r.Concurrency)
	if r.IdleTimeout <= 0 {
		r.IdleTimeout = DefaultStreamIdleTimeout
	}
	if r.MinRate <= 0 {
		r.MinRate = DefaultStreamMinRate
	}
	if r.MaxDuration <= 0 {
		r.MaxDuration = DefaultReadMaxDuration
	}
	if r.Metrics == nil {
		r.Metrics = noReadMetrics{}
	}
	if r.now == nil {
		r.now = time.Now
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
