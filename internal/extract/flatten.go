package extract

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Flatten writes the flattened filesystem of layers (in manifest order, the
// base layer first) to w as a tar stream: the same bytes as `crane export`,
// except for the escaping names described in the package documentation.
// Like crane export, a single layer whose media type is not a layer's (an
// artifact such as a Helm chart) is written as its uncompressed blob,
// unchanged, unless WithSubtree asks for part of it; everything else is the
// tree mutate.Extract writes.
//
// The upper layers are written first. While one layer is written, the next
// ones are fetched and decompressed within the prefetch budget. If w has a
// Flush method (Flush() or Flush() error, as http.ResponseWriter and
// bufio.Writer do), Flatten calls it whenever it is about to wait for layer
// data, so a slow fetch never holds back bytes already produced. A layer
// whose read fails for a reason other than its content (a dropped
// connection) is opened again, up to twice, and resumes where it stopped.
//
// Cancelling ctx stops every fetch (the layer blobs are closed) and Flatten
// returns ctx's error once its goroutines have ended. Opening a blob is done
// by the layer itself; for remote layers it is bound to the context the image
// was fetched with, which should therefore be ctx too.
func Flatten(ctx context.Context, w io.Writer, layers []v1.Layer, opts ...Option) error {
	o, err := makeOptions(opts...)
	if err != nil {
		return err
	}
	if len(layers) == 1 && o.subtree == "." {
		mt, err := layers[0].MediaType()
		if err != nil {
			return fmt.Errorf("layer media type: %w", err)
		}
		if !mt.IsLayer() {
			if o.index != nil {
				o.index.fail(fmt.Errorf("a single artifact blob: %w", ErrNoIndex))
			}
			return copyBlob(ctx, w, layers[0], o)
		}
	}
	ix := o.index
	if ix != nil && o.subtree != "." {
		ix.fail(fmt.Errorf("flatten of a subtree: %w", ErrNoIndex))
		ix = nil
	}
	ctx, cancel := context.WithCancel(ctx)
	p := newPipeline(ctx, reversed(layers), o, &budget{maxBytes: o.maxBytes, maxRatio: o.maxRatio})
	defer p.wait()
	defer cancel()

	// dirty notes bytes that reached w since its last Flush: bufio passes
	// large writes straight through, so an empty buffer does not mean that
	// w has nothing to flush.
	dw := &dirtyWriter{w: w}
	bw := bufio.NewWriterSize(dw, 64<<10)
	flushOut := flusher(w)
	p.flush = func() {
		if bw.Flush() == nil && dw.dirty {
			dw.dirty = false
			flushOut()
		}
	}
	tw := tar.NewWriter(bw)
	f := &flattener{
		tw:  tw,
		m:   newMerger(subtreeRelevance(o.subtree), o.maxNameBytes),
		sub: o.subtree,
		buf: make([]byte, chunkSize),
		ix:  ix,
	}
	if ix != nil {
		f.m.rec = ix
	}
	err = f.write(p, len(layers), bw, flushOut)
	if ix != nil {
		if err != nil {
			ix.fail(err)
		} else {
			ix.finish(len(layers))
		}
	}
	return err
}

// write writes every layer's entries, then the tar's end, and flushes.
func (f *flattener) write(p *pipeline, n int, bw *bufio.Writer, flushOut func()) error {
	for i := range p.streams {
		if err := f.layer(p.next(i), i); err != nil {
			return fmt.Errorf("layer %d of %d from the top: %w", i+1, n, err)
		}
	}
	if err := f.tw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	flushOut()
	return nil
}

type flattener struct {
	tw  *tar.Writer
	m   *merger
	sub string
	buf []byte
	ix  *IndexBuilder // nil: no index is built
}

// layer writes one layer's surviving entries, as mutate's extractLayer;
// top is its rank from the top.
func (f *flattener) layer(s *stream, top int) error {
	// archive/tar reads exactly the header blocks of an entry, so the bytes
	// read when Next returns are the offset of the entry's data.
	cr := &offsetReader{r: s}
	tr := tar.NewReader(cr)
	if f.ix != nil {
		f.ix.beginLayer(top)
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		if f.ix != nil {
			f.ix.beginEntry()
		}
		name, v, err := f.m.visit(h)
		if err != nil {
			return err
		}
		if f.ix != nil {
			f.ix.visited(name, v, h, cr.n)
		}
		if v != emitted || !under(name, f.sub) {
			continue
		}
		if err := f.tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Size > 0 {
			if _, err := io.CopyBuffer(f.tw, io.LimitReader(tr, h.Size), f.buf); err != nil {
				return err
			}
		}
	}
	f.m.endLayer()
	// Read to the end of the stream: the trailing bytes, and the layer's
	// error if it failed after the tar's end (such as a digest mismatch).
	if _, err := io.CopyBuffer(io.Discard, s, f.buf); err != nil {
		return fmt.Errorf("verify layer: %w", err)
	}
	return nil
}

// copyBlob writes a layer's uncompressed bytes as they are.
func copyBlob(ctx context.Context, w io.Writer, l v1.Layer, o *options) error {
	rc, err := openLayer(ctx, l, &budget{maxBytes: o.maxBytes, maxRatio: o.maxRatio})
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }() // read-only: the copy reports read errors
	if _, err := io.CopyBuffer(w, rc, make([]byte, chunkSize)); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	flusher(w)()
	return nil
}

// subtreeRelevance tracks the names that can decide about an entry inside
// sub: those inside it and its ancestors.
func subtreeRelevance(sub string) func(string) bool {
	if sub == "." {
		return func(string) bool { return true }
	}
	return func(name string) bool { return under(name, sub) || ancestorOf(name, sub) }
}

// ancestorOf reports whether dir is a strict ancestor of name; "." is the
// ancestor of every other name.
func ancestorOf(dir, name string) bool {
	if dir == name {
		return false
	}
	return under(name, dir)
}

func reversed(layers []v1.Layer) []v1.Layer {
	r := make([]v1.Layer, len(layers))
	for i, l := range layers {
		r[len(layers)-1-i] = l
	}
	return r
}

// offsetReader counts the bytes read through it.
type offsetReader struct {
	r io.Reader
	n int64
}

func (o *offsetReader) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	o.n += int64(n)
	return n, err
}

type dirtyWriter struct {
	w     io.Writer
	dirty bool
}

func (d *dirtyWriter) Write(p []byte) (int, error) {
	d.dirty = true
	return d.w.Write(p)
}

// flusher returns w's Flush, or a no-op.
func flusher(w io.Writer) func() {
	switch f := w.(type) {
	case interface{ Flush() error }:
		return func() { _ = f.Flush() }
	case interface{ Flush() }:
		return f.Flush
	}
	return func() {}
}
