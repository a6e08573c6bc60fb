package layercache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// errTooLarge ends a fill that would take the cache past its bound.
var errTooLarge = errors.New("layer larger than the room in the cache")

// errDisk marks a failure of the cache's disk, as opposed to the layer's
// download.
var errDisk = errors.New("layer cache disk")

// errAbandoned ends a fill that every reader left before its end.
var errAbandoned = errors.New("layer cache: fill abandoned: no reader left")

// fillChunk is the most a fill reads from the layer at once.
const fillChunk = 256 << 10

// A fill downloads and decompresses one layer into a temporary file in its
// own goroutine, hashing the tar on the way, and when the download ended
// well (the opener read the blob to its end, so the registry client checked
// its digest) renames it into blobs/ under that hash and links the blob key
// to it. Nothing the image config says (its diff_ids) is trusted. Readers follow the temporary file as it
// grows (follower), so the first read of a layer streams as fast as the
// download, and concurrent first reads download it once. The fill runs
// apart from its readers' pace: one that reads two streams of the same
// layer (an image may repeat a layer) never waits on itself. It stops, and
// leaves nothing behind, when its last reader goes, on a download or disk
// failure, or when the bytes would pass the bound (they count against it
// as they are written, so concurrent fills never take the directory past
// it).
type fill struct {
	c         *Cache
	digestHex string // the blob key, linked to the tar's hash on success
	hex       string // the tar's hash, once the fill has ended well
	tmp       TempFile
	cancel    context.CancelFunc

	mu        sync.Mutex
	written   int64
	done      bool
	err       error
	changed   chan struct{} // closed and replaced on every change
	readers   int
	abandoned bool
}

// follow returns a reader of l's tar as the fill for the blob key writes
// it, starting that fill unless one is under way: only a fill of the same
// blob of the same upstream is ever followed.
func (c *Cache) follow(ctx context.Context, l v1.Layer, key string) (*follower, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.filling[key]
	if !ok {
		tmp, err := c.o.create(c.tmp)
		if err != nil {
			return nil, c.diskFailure("create a temporary file", err)
		}
		// The fill outlives the request that started it while others
		// follow it; its last reader's leaving cancels it.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &fill{c: c, digestHex: key, tmp: tmp, cancel: cancel, changed: make(chan struct{})}
		c.filling[key] = f
		go f.run(fctx, l)
	}
	// The temporary file is renamed or removed only with c.mu held, so it
	// is still there to open.
	file, err := os.Open(f.tmp.Name())
	if err != nil {
		return nil, c.diskFailure("open a fill's file", err)
	}
	if !f.attach() {
		_ = file.Close() // read-only
		return nil, errAbandoned
	}
	return &follower{f: f, l: l, file: file, ctx: ctx, closed: make(chan struct{})}, nil
}

// run writes the layer into the temporary file and keeps it, or not.
func (f *fill) run(ctx context.Context, l v1.Layer) {
	defer f.cancel()
	c := f.c
	w := &reservingWriter{c: c, f: f.tmp}
	h := sha256.New()
	err := f.copy(ctx, l, w, h)
	// Readers have every byte once they are all written, whether or not
	// the file can then be kept. A download that failed its digest check
	// fails them too (readErr): they never end cleanly on bytes the
	// registry client refused.
	readErr := err
	if err == nil {
		f.hex = hex.EncodeToString(h.Sum(nil))
		if cerr := f.tmp.Close(); cerr != nil {
			err = c.diskFailure("close", cerr)
		}
	} else {
		_ = f.tmp.Close() // the fill failed: the file is removed below, its data not kept
	}
	c.mu.Lock()
	delete(c.filling, f.digestHex)
	kept := false
	if err == nil {
		kept, err = c.keepLocked(f, w.n)
	}
	if !kept {
		// Readers keep their open descriptors of the removed file.
		if rerr := os.Remove(f.tmp.Name()); rerr != nil {
			_ = c.diskFailure("remove a temporary file", rerr) // logged and counted; the fill's outcome stands
		}
		c.total -= w.n
		c.o.metrics.setSize(c.total, c.lru.Len())
	}
	c.mu.Unlock()
	if kept {
		c.o.metrics.filled(w.n)
	}
	if err == nil {
		c.link(f.digestHex, f.hex)
	}
	f.end(readErr)
}

// copy decompresses the layer into w and h, telling readers of each chunk.
func (f *fill) copy(ctx context.Context, l v1.Layer, w *reservingWriter, h hash.Hash) error {
	rc, err := f.c.o.open(ctx, l)
	if err != nil {
		return fmt.Errorf("layer cache: open layer: %w", err)
	}
	defer func() { _ = rc.Close() }() // read-only: the reads report errors
	buf := make([]byte, fillChunk)
	for {
		if f.isAbandoned() {
			return errAbandoned // an opener that ignores ctx still stops here
		}
		// What a read returns goes to the readers at once: a fill that
		// waited for a whole chunk would hold them back on a slow
		// download.
		n, rerr := rc.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if _, err := w.Write(buf[:n]); err != nil {
				if errors.Is(err, errDisk) {
					return f.c.diskFailure("write", err)
				}
				return fmt.Errorf("layer cache: fill: %w", err)
			}
			f.advance(int64(n))
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil:
			return fmt.Errorf("layer cache: fill: %w", rerr)
		}
	}
}

// keepLocked renames a finished fill into blobs/ and counts it (its bytes
// were counted as they were written). It reports false, and no error,
// when a layer with the same tar is kept already (another blob of the
// same content, or another upstream's): the link then points at that one.
func (c *Cache) keepLocked(f *fill, n int64) (bool, error) {
	if _, ok := c.byHex[f.hex]; ok {
		return false, nil
	}
	if err := os.Rename(f.tmp.Name(), filepath.Join(c.blobs, f.hex)); err != nil {
		return false, c.diskFailure("rename", err)
	}
	c.byHex[f.hex] = c.lru.PushFront(&entry{hex: f.hex, size: n, verified: true})
	c.o.metrics.setSize(c.total, c.lru.Len())
	return true, nil
}

func (f *fill) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fill) advance(n int64) {
	f.mu.Lock()
	f.written += n
	f.notifyLocked()
	f.mu.Unlock()
}

func (f *fill) end(err error) {
	f.mu.Lock()
	f.done, f.err = true, err
	f.notifyLocked()
	f.mu.Unlock()
}

// state returns what readers may read and a channel closed on the next
// change.
func (f *fill) state() (written int64, done bool, changed <-chan struct{}, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.written, f.done, f.changed, f.err
}

// attach counts a reader; false when the fill was already abandoned.
func (f *fill) attach() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.abandoned {
		return false
	}
	f.readers++
	return true
}

// detach counts a reader gone; the last one's leaving before the end
// abandons the fill.
func (f *fill) detach() {
	f.mu.Lock()
	f.readers--
	last := f.readers == 0 && !f.done
	if last {
		f.abandoned = true
	}
	f.mu.Unlock()
	if last {
		f.cancel()
	}
}

func (f *fill) isAbandoned() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.abandoned
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

// reservingWriter writes to the temporary file, reserving each chunk's
// bytes first.
type reservingWriter struct {
	c *Cache
	f TempFile
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
