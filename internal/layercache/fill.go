package layercache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// errTooLarge ends a fill that would take the cache past its bound.
var errTooLarge = errors.New("layer larger than the room in the cache")

// errDisk marks a failure of the cache's disk, as opposed to the layer's
// download.
var errDisk = errors.New("layer cache disk")

// fill downloads and decompresses l into a temporary file, checks that it
// hashes to hexDigest and renames it into blobs/. The bytes written count
// against the bound as they are written, so concurrent fills never take the
// directory past it. On any failure nothing is left behind.
func (c *Cache) fill(ctx context.Context, l v1.Layer, hexDigest string) (err error) {
	rc, err := c.o.open(ctx, l)
	if err != nil {
		return fmt.Errorf("layer cache: open layer: %w", err)
	}
	defer func() { _ = rc.Close() }() // read-only: the copy reports read errors
	f, err := c.o.create(c.tmp)
	if err != nil {
		return c.diskFailure("create a temporary file", err)
	}
	w := &reservingWriter{c: c, f: f}
	defer func() {
		if err != nil {
			_ = f.Close() // discarded, maybe closed already: its data is not kept
			if rerr := os.Remove(f.Name()); rerr != nil {
				_ = c.diskFailure("remove a temporary file", rerr) // logged and counted; err stays the cause
			}
			c.release(w.n)
		}
	}()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), rc); err != nil {
		if errors.Is(err, errDisk) {
			return c.diskFailure("write", err)
		}
		return fmt.Errorf("layer cache: fill sha256:%s: %w", hexDigest, err)
	}
	if err := f.Close(); err != nil {
		return c.diskFailure("close", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != hexDigest {
		return fmt.Errorf("layer cache: the layer's tar hashes to sha256:%s, not its diff id sha256:%s", got, hexDigest)
	}
	if err := os.Rename(f.Name(), filepath.Join(c.blobs, hexDigest)); err != nil {
		return c.diskFailure("rename", err)
	}
	c.mu.Lock()
	c.byHex[hexDigest] = c.lru.PushFront(&entry{hex: hexDigest, size: w.n, verified: true})
	c.o.metrics.setSize(c.total, c.lru.Len())
	c.mu.Unlock()
	c.o.metrics.filled(w.n)
	return nil
}

// diskFailure logs and counts a failure of the cache's own disk and returns
// it; the request goes on without the cache.
func (c *Cache) diskFailure(op string, err error) error {
	c.o.metrics.diskError()
	c.o.logger.Warn("layer cache: disk failure, reading from the registry instead", "op", op, "err", err)
	return fmt.Errorf("layer cache: %s: %w", op, err)
}

// reserve counts n more bytes against the bound, evicting kept layers to
// make room; it fails when even an empty cache has no room (other fills
// hold it).
func (c *Cache) reserve(n int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += n
	c.evictLocked()
	if c.total > c.o.maxBytes {
		c.total -= n
		return errTooLarge
	}
	return nil
}

func (c *Cache) release(n int64) {
	c.mu.Lock()
	c.total -= n
	c.o.metrics.setSize(c.total, c.lru.Len())
	c.mu.Unlock()
}

// tempFile is what a fill writes to; tests put a failing one in its place.
type tempFile interface {
	io.Writer
	Close() error
	Name() string
}

// reservingWriter writes to the temporary file, reserving each chunk's
// bytes first.
type reservingWriter struct {
	c *Cache
	f tempFile
	n int64
}

func (w *reservingWriter) Write(p []byte) (int, error) {
	if err := w.c.reserve(int64(len(p))); err != nil {
		return 0, err
	}
	n, err := w.f.Write(p)
	w.n += int64(n)
	if unused := int64(len(p) - n); unused > 0 {
		w.c.release(unused)
	}
	if err != nil {
		return n, fmt.Errorf("%w: %w", errDisk, err)
	}
	return n, nil
}
