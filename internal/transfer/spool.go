package transfer

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// spoolPattern names the spool files (os.CreateTemp's pattern), so that
// RemoveSpooled finds them and nothing else.
const spoolPattern = "regapi-upload-*.tar"

// copyBufferSize is the chunk Spool reads and writes with; 1 MiB keeps the
// syscall count low without holding much memory per upload.
const copyBufferSize = 1 << 20

// Spooled is an upload saved to a temporary file as an uncompressed tar.
// It is safe for concurrent reads; Close removes the file.
type Spooled struct {
	f          *os.File
	size       int64
	compressed bool

	once     sync.Once
	closeErr error
}

// Spool streams body into a new temporary file in dir and returns it.
//
// A body that starts with the gzip magic bytes is decompressed on the fly, so
// the file always holds the plain tar. maxBytes caps both the bytes read from
// body and the bytes written to the file: past either, Spool stops and
// returns ErrTooLarge, so an upload never takes more than maxBytes of disk,
// however well it compresses. A corrupt gzip stream returns
// ErrInvalidTarball, a failed read of body ErrIncompleteBody, and a cancelled
// ctx its error; ctx is checked before every read.
//
// On every error the file is removed before Spool returns. On success the
// caller must Close the result.
func Spool(ctx context.Context, body io.Reader, dir string, maxBytes int64) (*Spooled, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("spool: max bytes must be positive, got %d", maxBytes)
	}
	f, err := os.CreateTemp(dir, spoolPattern)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spooled{f: f}
	if err := s.fill(ctx, body, maxBytes); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// fill copies body (decompressed if it is gzip) into s.f.
func (s *Spooled) fill(ctx context.Context, body io.Reader, maxBytes int64) error {
	raw := &capReader{ctx: ctx, r: body, left: maxBytes}
	br := bufio.NewReaderSize(raw, 64<<10)
	var src io.Reader = br
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return raw.cause(err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return raw.cause(err)
		}
		defer func() { _ = zr.Close() }() // read-only; the copy below reports read errors
		src = zr
		s.compressed = true
	}
	// The tar's headers are checked as they arrive, beside the copy: a
	// header past a bound (names of a megabyte, a million entries) ends
	// the upload there, not once its gigabytes are on disk.
	pr, pw := io.Pipe()
	checked := make(chan error, 1)
	go func() {
		err := checkHeaders(pr)
		_ = pr.CloseWithError(cmp.Or(err, errHeadersChecked)) // unblocks the copy's writes
		checked <- err
	}()
	// The check gets the stream in chunks of the copy's size, whatever the
	// decompressor's reads: one hand-off between goroutines per MiB.
	tee := bufio.NewWriterSize(pw, copyBufferSize)
	w := &capWriter{w: s.f, left: maxBytes}
	n, err := io.CopyBuffer(w, io.TeeReader(src, tee), make([]byte, copyBufferSize))
	s.size = n
	if err == nil {
		err = tee.Flush()
	}
	_ = pw.CloseWithError(err) // nil: the checker sees the end of the tar
	if checkErr := <-checked; checkErr != nil {
		return checkErr
	}
	if err != nil {
		return raw.cause(err)
	}
	return nil
}

// errHeadersChecked ends the pipe to the header check once it returned; a
// write after that is a body that goes on past the check's own end, which
// cannot happen: the check reads to the end of the stream.
var errHeadersChecked = errors.New("tar headers checked")

// Size returns the size of the spooled tar in bytes (after decompression).
func (s *Spooled) Size() int64 { return s.size }

// Compressed reports whether the upload was gzip-compressed.
func (s *Spooled) Compressed() bool { return s.compressed }

// ReadAt reads the spooled tar at off; it is safe for concurrent use.
func (s *Spooled) ReadAt(p []byte, off int64) (int, error) { return s.f.ReadAt(p, off) }

// Close closes and removes the file. It is safe to call more than once; later
// calls return the first call's result.
func (s *Spooled) Close() error {
	s.once.Do(func() {
		name := s.f.Name()
		err := s.f.Close()
		if rerr := os.Remove(name); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
		if err != nil {
			s.closeErr = fmt.Errorf("remove spool file: %w", err)
		}
	})
	return s.closeErr
}

// RemoveSpooled removes the spool files in dir that Spool made and nobody
// closed: those of a process that crashed, or of handlers still running
// when a shutdown cut them off and the process exits. Only regular files
// named as Spool names them are touched; dir must belong to one process. A
// file still open elsewhere is unlinked (its Close then finds it gone,
// which is not an error). It returns the files and bytes freed; failures
// of single files are joined.
func RemoveSpooled(dir string) (files int, bytes int64, err error) {
	left, err := filepath.Glob(filepath.Join(dir, spoolPattern))
	if err != nil {
		return 0, 0, fmt.Errorf("spool dir: %w", err)
	}
	var errs []error
	for _, name := range left {
		st, err := os.Lstat(name)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		files++
		bytes += st.Size()
	}
	return files, bytes, errors.Join(errs...)
}

// capReader reads at most left bytes from r and fails with ErrTooLarge if r
// has more. It checks ctx before every read and remembers the first error
// that came from r or ctx, so that cause can tell them from errors of the
// decompressor reading through it.
type capReader struct {
	ctx  context.Context
	r    io.Reader
	left int64
	err  error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	if c.left <= 0 {
		// The cap is reached: one more byte means the body is too large.
		var one [1]byte
		n, err := c.r.Read(one[:])
		switch {
		case n > 0:
			c.err = ErrTooLarge
			return 0, c.err
		case errors.Is(err, io.EOF):
			return 0, io.EOF
		case err != nil:
			c.err = fmt.Errorf("%w: %w", ErrIncompleteBody, err)
			return 0, c.err
		}
		return 0, nil
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = fmt.Errorf("%w: %w", ErrIncompleteBody, err)
		return n, c.err
	}
	return n, err
}

// cause turns an error seen while copying into the one Spool returns: the
// body's or ctx's own error if there was one, ErrTooLarge from either side,
// otherwise a decompression failure (ErrInvalidTarball) or a disk error.
func (c *capReader) cause(err error) error {
	switch {
	case c.err != nil:
		return fmt.Errorf("spool: %w", c.err)
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("spool: %w", err)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.Is(err, io.ErrUnexpectedEOF):
		return invalidf("gzip: %v", err)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("spool: %w", err)
	}
	// Anything else came out of the decompressor (a corrupt deflate stream).
	return invalidf("gzip: %v", err)
}

// capWriter writes at most left bytes to w and fails with ErrTooLarge after.
type capWriter struct {
	w    io.Writer
	left int64
}

func (c *capWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		return 0, ErrTooLarge
	}
	n, err := c.w.Write(p)
	c.left -= int64(n)
	return n, err
}
