package extract

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Option configures Flatten and Lookup.
type Option func(*options) error

type options struct {
	prefetchBytes  int64
	prefetchLayers int
	subtree        string // cleaned, root-relative; "." means the whole tree
	maxFileSize    int64
	maxBytes       int64
	maxRatio       int64
	maxNameBytes   int64
	rememberBytes  int64 // Lookup's bound on remembered headers; tests lower it
	index          *IndexBuilder
}

// DefaultMaxFileSize is WithMaxFileSize's default: large enough for the
// binaries and databases one reads whole.
const DefaultMaxFileSize = 256 << 20

const (
	// chunkSize is the unit in which decompressed bytes move from a layer's
	// fetch goroutine to the writer: large enough that channel operations
	// cost nothing next to decompression, small enough that the prefetch
	// budget is spent evenly.
	chunkSize = 256 << 10

	// headChunks bounds the chunks the layer being written may hold outside
	// the prefetch budget (it must never wait on the budget, which lower
	// layers may hold, or the pipeline would deadlock).
	headChunks = 8

	// ratioGrace is how many decompressed bytes a layer may produce before
	// WithMaxRatio is enforced, so that tiny layers (a few headers around an
	// empty file) are not judged by their ratio.
	ratioGrace = 16 << 20

	// maxPrefetchBytes keeps the per-layer chunk queues, sized for the
	// whole budget, small.
	maxPrefetchBytes = 1 << 30

	// maxReopens is how many times a layer whose read failed is opened
	// again before Flatten gives up.
	maxReopens = 2

	// maxNameLen bounds an entry's name and link target, in bytes. Linux
	// refuses longer paths and symbolic link targets (PATH_MAX, 4096 bytes
	// with the terminating NUL), so no runtime could unpack such an entry,
	// while archive/tar hands over names of up to 1 MiB from a PAX record:
	// kept as they come, a thousand of them take a GiB.
	maxNameLen = 4096

	// keptEntryCost approximates, in bytes, the memory of a kept name
	// besides its bytes: the map entry that holds it and the string header.
	keptEntryCost = 64

	// maxHops is the number of links followed when resolving a path, as
	// Linux's MAXSYMLINKS.
	maxHops = 40
)

func makeOptions(opts ...Option) (*options, error) {
	o := &options{
		prefetchBytes:  32 << 20,
		prefetchLayers: 2,
		subtree:        ".",
		maxFileSize:    DefaultMaxFileSize,
		maxBytes:       32 << 30,
		maxRatio:       1100,
		maxNameBytes:   32 << 20,
		rememberBytes:  rememberBytes,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithPrefetchBytes bounds the decompressed bytes held for layers below the
// one being written, at most 1 GiB. Zero disables read-ahead into lower
// layers; the layer being written still decompresses concurrently into a few
// small buffers. The default value is 32 MiB.
func WithPrefetchBytes(n int64) Option {
	return func(o *options) error {
		if n < 0 || n > maxPrefetchBytes {
			return fmt.Errorf("prefetch bytes %d: must be between 0 and %d", n, maxPrefetchBytes)
		}
		o.prefetchBytes = n
		return nil
	}
}

// WithPrefetchLayers bounds how many layers below the one being written are
// fetched and decompressed concurrently. The default value is 2.
func WithPrefetchLayers(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("prefetch layers %d: must not be negative", n)
		}
		o.prefetchLayers = n
		return nil
	}
}

// WithSubtree limits Flatten's output to the entry at p and everything below
// it, p being an absolute path inside the image such as "/etc". Links are not
// followed to find p. Lookup ignores it. The default value is "/", the whole
// tree.
func WithSubtree(p string) Option {
	return func(o *options) error {
		c, err := cleanImagePath(p)
		if err != nil {
			return fmt.Errorf("subtree %q: %w", p, err)
		}
		o.subtree = c
		return nil
	}
}

// WithMaxFileSize caps the size of a regular file that Lookup returns;
// larger files give ErrTooLarge. The default value is 256 MiB.
func WithMaxFileSize(n int64) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("max file size %d: must not be negative", n)
		}
		o.maxFileSize = n
		return nil
	}
}

// WithMaxBytes caps the decompressed bytes read from all layers together in
// one call; past it the call fails with ErrLimit. Zero disables the cap. The
// default value is 32 GiB.
func WithMaxBytes(n int64) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("max bytes %d: must not be negative", n)
		}
		o.maxBytes = n
		return nil
	}
}

// WithMaxRatio caps a layer's decompressed size as a multiple of its
// compressed size, once it has produced 16 MiB; past it the call fails with
// ErrLimit. Deflate cannot expand more than about 1032:1, so the default
// never stops a gzip layer (whose size only WithMaxBytes bounds); it stops
// zstd layers, which reach tens of thousands to one. Zero disables the cap.
// The default value is 1100.
func WithMaxRatio(r int64) Option {
	return func(o *options) error {
		if r < 0 {
			return fmt.Errorf("max ratio %d: must not be negative", r)
		}
		o.maxRatio = r
		return nil
	}
}

// WithMaxNameBytes caps the memory of the names one call keeps to decide
// what upper layers hide in lower ones: for Flatten every name met in the
// subtree and its ancestors (written, whited out or made opaque), for Lookup
// the target, its ancestors and its children, one link hop at a time. A kept
// name counts its bytes plus 64 for the map entry that holds it; past the
// cap the call fails with ErrNameLimit. Lookup's remembered headers are
// bounded apart, and give way to reading again rather than failing. The
// default value is 32 MiB: about 250,000 files with names of 70 bytes, more
// than the largest images hold.
func WithMaxNameBytes(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("max name bytes %d: must be positive", n)
		}
		o.maxNameBytes = n
		return nil
	}
}

var errEscapes = errors.New("path escapes the image root")

// cleanImagePath turns an absolute path inside the image ("/etc/passwd",
// "/") into the root-relative form tar entries use ("etc/passwd", ".").
func cleanImagePath(p string) (string, error) {
	if strings.ContainsRune(p, 0) {
		return "", errors.New("path contains NUL")
	}
	c := path.Clean("/" + p) // a rooted Clean never climbs above "/"
	c = strings.TrimPrefix(c, "/")
	if c == "" {
		c = "."
	}
	if unsafeName(c) {
		return "", errEscapes
	}
	return c, nil
}
