package extract

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// zstdMaxWindow bounds the memory a zstd frame may ask for. zstd's default
// levels use windows of at most 8 MiB; a crafted frame could ask for far
// more.
const zstdMaxWindow = 64 << 20

// budget is the decompression limit shared by all layers of one call.
type budget struct {
	maxBytes int64
	maxRatio int64
	total    atomic.Int64
}

// openLayer returns the layer's uncompressed tar stream. It reads the
// compressed blob and decompresses it here, with klauspost/compress, instead
// of calling Uncompressed (which uses compress/gzip); the compression is
// detected from the first bytes, as go-containerregistry does, whatever the
// media type says. Cancelling ctx closes the blob, which unblocks a read in
// progress: the blob is an HTTP body or a plain reader, for which a
// concurrent Close is safe (a decompressor such as one from Uncompressed
// would not be). At the end of the stream the rest of the blob is drained so
// that a verifying reader checks the digest.
//
// A layer that is a PlainOpener is read from its file instead, when it has
// one, under the same budget.
func openLayer(ctx context.Context, l v1.Layer, b *budget) (io.ReadCloser, error) {
	if p, ok := l.(PlainOpener); ok {
		if f, ok := p.OpenPlain(); ok {
			return newLayerReader(ctx, f, b, true)
		}
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("open layer: %w", err)
	}
	return newLayerReader(ctx, rc, b, false)
}

// OpenPlain returns l's uncompressed tar stream, decompressed as Flatten
// and Lookup do, under the limits that WithMaxBytes and WithMaxRatio set
// (other options are ignored). It never reads a PlainOpener's file: it is
// how such a file is filled. At the end of the stream the blob has been
// read whole, so a verifying blob reader has checked its digest.
func OpenPlain(ctx context.Context, l v1.Layer, opts ...Option) (io.ReadCloser, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("open layer: %w", err)
	}
	return newLayerReader(ctx, rc, &budget{maxBytes: o.maxBytes, maxRatio: o.maxRatio}, false)
}

// newLayerReader decompresses rc (unless plain) under b. It takes rc over:
// on an error rc is closed.
func newLayerReader(ctx context.Context, rc io.ReadCloser, b *budget, plain bool) (io.ReadCloser, error) {
	lr := &layerReader{budget: b}
	var once sync.Once
	lr.closeBlob = func() error {
		var err error
		once.Do(func() { err = rc.Close() })
		return err
	}
	lr.stop = context.AfterFunc(ctx, func() { _ = lr.closeBlob() }) // unblocks a read; the reader reports the cancel

	lr.blob = bufio.NewReaderSize(&countingReader{r: rc, n: &lr.compressed}, 64<<10)
	magic, err := lr.blob.Peek(len(zstdMagic))
	if err != nil && len(magic) == 0 && !errors.Is(err, io.EOF) {
		_ = lr.Close() // read-only; the read error is the one to report
		return nil, fmt.Errorf("read layer: %w", err)
	}
	switch {
	case plain:
		lr.dec = lr.blob
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(lr.blob)
		if err != nil {
			_ = lr.Close() // read-only; the gzip error is the one to report
			return nil, fmt.Errorf("gzip layer: %w", err)
		}
		lr.dec, lr.closeDec = zr, zr.Close
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(lr.blob,
			zstd.WithDecoderConcurrency(1), // decode in the calling goroutine; layers already run in parallel
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			_ = lr.Close() // read-only; the zstd error is the one to report
			return nil, fmt.Errorf("zstd layer: %w", err)
		}
		lr.dec, lr.closeDec = zr, func() error { zr.Close(); return nil }
	default:
		lr.dec = lr.blob
	}
	return lr, nil
}

// layerReader is a decompressed layer stream that enforces the budget.
type layerReader struct {
	budget     *budget
	blob       *bufio.Reader
	dec        io.Reader
	closeDec   func() error
	closeBlob  func() error
	stop       func() bool
	compressed atomic.Int64 // bytes read from the blob
	produced   int64        // bytes decompressed from this layer
	done       bool
}

func (lr *layerReader) Read(p []byte) (int, error) {
	if lr.done {
		return 0, io.EOF
	}
	n, err := lr.dec.Read(p)
	if n > 0 {
		lr.produced += int64(n)
		total := lr.budget.total.Add(int64(n))
		if b := lr.budget.maxBytes; b > 0 && total > b {
			return n, fmt.Errorf("layers decompress past %d bytes: %w", b, ErrLimit)
		}
		if r := lr.budget.maxRatio; r > 0 && lr.produced > ratioGrace && lr.produced > r*lr.compressed.Load() {
			return n, fmt.Errorf("layer decompresses more than %d times its size: %w", r, ErrLimit)
		}
	}
	if err == io.EOF {
		// Drain what follows the compressed stream so that a verifying
		// blob reader reaches its end and checks the digest.
		if _, derr := io.Copy(io.Discard, lr.blob); derr != nil {
			return n, fmt.Errorf("verify layer: %w", derr)
		}
		lr.done = true
	}
	return n, err
}

// Close releases the decompressor and the blob.
func (lr *layerReader) Close() error {
	lr.stop()
	if lr.closeDec != nil {
		_ = lr.closeDec() // a decompressor holds no writes; the blob's close decides
	}
	return lr.closeBlob()
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
