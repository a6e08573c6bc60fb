package layercache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// follower reads a fill's file as it grows: a read waits for the bytes it
// asks for until the fill has them, ends, or the reader's ctx ends. When
// the fill gave up for the cache's own reasons (a disk failure, no room)
// the follower reads on from the registry, from where it was: a full disk
// never fails a read. At the end of a fill that failed otherwise (the
// download, the content) it returns the fill's error, so a reader never
// takes a short layer for a whole one.
type follower struct {
	f      *fill
	l      v1.Layer
	file   *os.File
	ctx    context.Context
	off    int64
	once   sync.Once
	closed chan struct{}

	// up is the layer streamed from the registry after the fill gave up,
	// at upPos; used by the reading goroutine only, closed by it or by
	// Close when no read is in progress.
	mu    sync.Mutex
	up    io.ReadCloser
	upPos int64
}

// degraded reports a fill that stopped for the cache's own reasons.
func degraded(err error) bool {
	return errors.Is(err, errDisk) || errors.Is(err, errTooLarge)
}

// Read reads what the fill has written past the offset, waiting only when
// it has nothing new.
func (r *follower) Read(p []byte) (int, error) {
	n, err := r.readAt(p, r.off, false)
	r.off += int64(n)
	return n, err
}

// ReadAt reads len(p) bytes at off, waiting for them.
func (r *follower) ReadAt(p []byte, off int64) (int, error) {
	return r.readAt(p, off, true)
}

func (r *follower) readAt(p []byte, off int64, full bool) (int, error) {
	n := 0
	for n < len(p) {
		written, done, changed, ferr := r.f.state()
		if avail := written - off - int64(n); avail > 0 {
			m, err := r.file.ReadAt(p[n:n+int(min(avail, int64(len(p)-n)))], off+int64(n))
			n += m
			if m == 0 || (err != nil && err != io.EOF) {
				return n, fmt.Errorf("layer cache: read a fill's file: %w", errors.Join(err, io.ErrUnexpectedEOF))
			}
			if !full {
				return n, nil
			}
			continue
		}
		if done {
			switch {
			case ferr == nil:
				return n, io.EOF
			case degraded(ferr):
				m, err := r.upstream(p[n:], off+int64(n), full)
				return n + m, err
			}
			return n, ferr
		}
		if n > 0 && !full {
			return n, nil
		}
		select {
		case <-changed:
		case <-r.closed:
			return n, os.ErrClosed
		case <-r.ctx.Done():
			return n, r.ctx.Err()
		}
	}
	return n, nil
}

// upstream reads at off from the layer streamed from the registry,
// opening it (again, when off is behind it) and skipping to off.
func (r *follower) upstream(p []byte, off int64, full bool) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.closed:
		r.closeUpLocked()
		return 0, os.ErrClosed
	default:
	}
	if r.up != nil && off < r.upPos {
		r.closeUpLocked()
	}
	if r.up == nil {
		rc, err := r.f.c.o.open(r.ctx, r.l)
		if err != nil {
			return 0, fmt.Errorf("layer cache: read from the registry: %w", err)
		}
		r.up, r.upPos = rc, 0
	}
	if off > r.upPos {
		k, err := io.CopyN(io.Discard, r.up, off-r.upPos)
		r.upPos += k
		if err != nil {
			return 0, fmt.Errorf("layer cache: skip to byte %d: %w", off, errors.Join(err, io.ErrUnexpectedEOF))
		}
	}
	if !full {
		n, err := r.up.Read(p)
		r.upPos += int64(n)
		return n, err
	}
	// ReadAt's contract: io.EOF when the layer ends before p is full.
	n, err := io.ReadFull(r.up, p)
	r.upPos += int64(n)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

func (r *follower) closeUpLocked() {
	if r.up != nil {
		_ = r.up.Close() // read-only: the reads report errors
		r.up = nil
	}
}

// wait returns once the fill has ended, with its error.
func (r *follower) wait() error {
	for {
		_, done, changed, err := r.f.state()
		if done {
			return err
		}
		select {
		case <-changed:
		case <-r.ctx.Done():
			return r.ctx.Err()
		}
	}
}

// Close stops following; the fill goes on while others follow it.
func (r *follower) Close() error {
	r.once.Do(func() {
		close(r.closed)
		_ = r.file.Close() // read-only
		r.f.detach()
		// A read in progress closes the registry stream itself when it
		// sees closed; closing it under that read could race with it.
		if r.mu.TryLock() {
			r.closeUpLocked()
			r.mu.Unlock()
		}
	})
	return nil
}
