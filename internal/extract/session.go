package extract

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A Lookup that follows links makes one top-down pass per hop. So that a hop
// does not read again what an earlier pass read, a session remembers, per
// layer, the headers read so far (the few fields Lookup uses) and keeps the
// layer's stream open where the reading stopped. A later pass replays the
// remembered headers through its own merger, then reads on from the open
// stream. A pass that reaches a layer has read every layer above it to its
// end, so at most one layer has a stream open between passes: the lowest one
// reached so far.
//
// When the answer is a regular file whose header was replayed, its bytes have
// already gone by: the layer is opened once more and read up to the file.
// Past rememberBytes of headers, a layer is forgotten and read afresh by
// every pass, as if nothing were remembered.

// rememberBytes is the default bound on the memory of the headers one Lookup
// remembers: tens of thousands of entries.
const rememberBytes = 8 << 20

// headerCost approximates a remembered header's memory besides its names.
const headerCost = 96

// session is the state of one Lookup call shared by its passes.
type session struct {
	ctx        context.Context
	o          *options
	b          *budget
	layers     []*layerState // manifest order, the base layer first
	remembered int64         // the approximate bytes of all remembered headers
}

// layerState is what the passes of one Lookup have read of one layer.
type layerState struct {
	l         v1.Layer
	digest    v1.Hash
	hasDigest bool
	hdrs      []header // the headers read so far, in order
	cost      int64    // their approximate memory
	ended     bool     // hdrs holds the whole layer, read and verified to its end
	forget    bool     // over the memory bound: every pass reads the layer afresh
	// rc and tr are the open stream, positioned after hdrs (or, for a
	// forgotten layer, after the current pass's last header); nil when closed.
	rc io.ReadCloser
	tr *tar.Reader
}

// header is the part of a tar header that Lookup uses.
type header struct {
	name, linkname string
	size, mode     int64
	modTime        time.Time
	typeflag       byte
}

func (h *header) tar() *tar.Header {
	return &tar.Header{Name: h.name, Linkname: h.linkname, Size: h.size, Mode: h.mode, ModTime: h.modTime, Typeflag: h.typeflag}
}

func (ls *layerState) digestOnce() v1.Hash {
	if !ls.hasDigest {
		ls.digest, _ = ls.l.Digest()
		ls.hasDigest = true
	}
	return ls.digest
}

func (ls *layerState) closeStream() {
	if ls.rc != nil {
		_ = ls.rc.Close() // read-only: dropped, reopened on the next read
		ls.rc, ls.tr = nil, nil
	}
}

// close releases every stream still open. A file's body has taken its own.
func (s *session) close() {
	for _, ls := range s.layers {
		ls.closeStream()
		ls.hdrs = nil
	}
}

// next returns the header at *pos in the layer and advances *pos: a
// remembered one, or one read from the stream, which live reports (the
// stream is then positioned at its body). It returns io.EOF at the layer's
// end, once the rest of the blob has been read for verification.
func (s *session) next(ls *layerState, pos *int) (*tar.Header, bool, error) {
	if *pos < len(ls.hdrs) {
		h := ls.hdrs[*pos].tar()
		*pos++
		return h, false, nil
	}
	if ls.ended {
		return nil, false, io.EOF
	}
	if ls.rc == nil {
		rc, tr, err := s.open(ls, *pos)
		if err != nil {
			return nil, false, err
		}
		ls.rc, ls.tr = rc, tr
	}
	h, err := ls.tr.Next()
	if errors.Is(err, io.EOF) {
		_, err := io.Copy(io.Discard, ls.rc)
		ls.closeStream()
		if err != nil {
			return nil, false, fmt.Errorf("verify layer: %w", err)
		}
		ls.ended = !ls.forget
		return nil, false, io.EOF
	}
	if err != nil {
		return nil, false, fmt.Errorf("read tar: %w", err)
	}
	if err := checkName(h); err != nil {
		return nil, false, err // before remembering it
	}
	*pos++
	s.remember(ls, h)
	return h, true, nil
}

// remember records h, read from the layer's stream, unless that would pass
// the memory bound; then the layer is forgotten instead. The names are
// copied: as read, they may share the memory of the header's whole PAX block
// (see merger.keep).
func (s *session) remember(ls *layerState, h *tar.Header) {
	if ls.forget {
		return
	}
	cost := headerCost + int64(len(h.Name)+len(h.Linkname))
	if s.remembered+cost > s.o.rememberBytes {
		s.remembered -= ls.cost
		ls.hdrs, ls.cost, ls.forget = nil, 0, true
		return
	}
	s.remembered += cost
	ls.cost += cost
	ls.hdrs = append(ls.hdrs, header{name: strings.Clone(h.Name), linkname: strings.Clone(h.Linkname), size: h.Size, mode: h.Mode, modTime: h.ModTime, typeflag: h.Typeflag})
}

// open opens the layer and skips its first skip entries.
func (s *session) open(ls *layerState, skip int) (io.ReadCloser, *tar.Reader, error) {
	rc, err := openLayer(s.ctx, ls.l, s.b)
	if err != nil {
		return nil, nil, err
	}
	tr := tar.NewReader(rc)
	for range skip {
		if _, err := tr.Next(); err != nil {
			_ = rc.Close() // read-only; the read error is the one to report
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, fmt.Errorf("read tar: %w", err)
		}
	}
	return rc, tr, nil
}

// body returns the contents of the regular file at index i of the layer,
// size bytes. If the stream is at its body (live), the body takes the stream
// over; otherwise the layer is opened again and read up to the file.
func (s *session) body(ls *layerState, i int, live bool, size int64) (io.ReadCloser, error) {
	if live {
		b := &fileBody{Reader: io.LimitReader(ls.tr, size), c: ls.rc}
		ls.rc, ls.tr = nil, nil
		return b, nil
	}
	rc, tr, err := s.open(ls, i)
	if err != nil {
		return nil, err
	}
	h, err := tr.Next()
	if err != nil {
		_ = rc.Close() // read-only; the read error is the one to report
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read tar: %w", err)
	}
	if want := ls.hdrs[i]; h.Name != want.name || h.Typeflag != want.typeflag || h.Size != want.size {
		_ = rc.Close() // read-only; the change is the error to report
		return nil, fmt.Errorf("layer %s changed between reads: entry %d is %q, was %q", ls.digestOnce(), i, h.Name, want.name)
	}
	return &fileBody{Reader: io.LimitReader(tr, size), c: rc}, nil
}

// fileBody reads a file's bytes from its layer and closes the layer.
type fileBody struct {
	io.Reader
	c io.Closer
}

func (f *fileBody) Close() error { return f.c.Close() }
