package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/klauspost/compress/gzip"
)

// epoch is every entry's modification time, so the corpus is the same bytes
// on every run.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// vocabulary makes text-like files: source, scripts and docs make up much of
// a real image and compress three to four times.
var vocabulary = []string{
	"the", "of", "and", "to", "in", "is", "for", "return", "func", "if", "else",
	"error", "nil", "err", "string", "int", "package", "import", "var", "const",
	"struct", "type", "interface", "range", "make", "len", "append", "context",
	"config", "server", "client", "request", "response", "handler", "value",
	"default", "option", "buffer", "reader", "writer", "stream", "layer", "image",
	"registry", "manifest", "digest", "platform", "linux", "amd64", "arm64",
	"/usr/lib", "/etc", "#include", "<stdio.h>", "static", "void", "char", "0x00",
	"{", "}", "(", ")", ";", "=", "==", "!=", ":=", "//", "#", "--", "\t", "    ",
}

// writeLayerTar writes a deterministic tar of about size bytes of file
// content for layer number idx: nested directories of files whose sizes
// spread from 512 B to 2 MiB, two thirds text-like and one third
// binary-like (half random, half sparse blocks), which together compress
// about as well as a typical distribution image.
func writeLayerTar(w io.Writer, idx int, size int64) error {
	// Seeded math/rand: the content must be the same on every run.
	rng := rand.New(rand.NewPCG(uint64(idx)+1, 0x5eed)) //nolint:gosec // G404, G115: see above; idx >= 0
	tw := tar.NewWriter(w)
	var written int64
	dirs := map[string]bool{}
	buf := new(bytes.Buffer)
	for n := 0; written < size; n++ {
		dir := fmt.Sprintf("layer%d/usr/lib/pkg%03d", idx, rng.IntN(64))
		if !dirs[dir] {
			dirs[dir] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: epoch}); err != nil {
				return err
			}
		}
		// Log-uniform sizes: many small files, a few large ones.
		fsize := int64(512) << rng.IntN(13)
		fsize += rng.Int64N(fsize)
		fsize = min(fsize, size-written+1)
		buf.Reset()
		if rng.IntN(3) == 0 {
			fillBinary(buf, rng, fsize)
		} else {
			fillText(buf, rng, fsize)
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("%s/file%05d", dir, n), Mode: 0o644, Size: int64(buf.Len()), ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(buf.Bytes()); err != nil {
			return err
		}
		written += int64(buf.Len())
	}
	return tw.Close()
}

// fillText appends about n bytes of words from the vocabulary.
func fillText(buf *bytes.Buffer, rng *rand.Rand, n int64) {
	for int64(buf.Len()) < n {
		buf.WriteString(vocabulary[rng.IntN(len(vocabulary))])
		if rng.IntN(9) == 0 {
			buf.WriteByte('\n')
		} else {
			buf.WriteByte(' ')
		}
	}
	buf.Truncate(int(n))
}

// fillBinary appends n bytes in 4 KiB blocks, each random (like compressed
// or machine code) or mostly zero (like padding and tables).
func fillBinary(buf *bytes.Buffer, rng *rand.Rand, n int64) {
	block := make([]byte, 4096)
	for int64(buf.Len()) < n {
		if rng.IntN(2) == 0 {
			for i := 0; i < len(block); i += 8 {
				v := rng.Uint64()
				for j := range 8 {
					block[i+j] = byte(v >> (8 * j)) //nolint:gosec // G115: taking one byte is the point
				}
			}
		} else {
			clear(block)
			for range 64 {
				block[rng.IntN(len(block))] = byte(rng.Uint32()) //nolint:gosec // G115: any byte will do
			}
		}
		buf.Write(block)
	}
	buf.Truncate(int(n))
}

// buildLayer returns layer idx gzip-compressed, with its digests.
func buildLayer(idx int, size int64) (*memLayer, error) {
	var compressed bytes.Buffer
	zw, err := gzip.NewWriterLevel(&compressed, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	diff := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(zw, diff)}
	if err := writeLayerTar(cw, idx, size); err != nil {
		return nil, fmt.Errorf("layer %d: %w", idx, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("layer %d: %w", idx, err)
	}
	return newMemLayer(compressed.Bytes(), diff.Sum(nil), cw.n), nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
