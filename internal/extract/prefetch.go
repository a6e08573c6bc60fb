package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// pipeline fetches and decompresses layers in goroutines, in the order they
// will be written, so that the layers after the current one are ready when
// the writer reaches them.
//
// Memory is bounded two ways. Chunks of a layer that is not yet being written
// each hold a token of the shared prefetch budget (tokens); the layer being
// written, the head, does not wait for tokens, which lower layers may hold
// until the head is done, but for one of its own few slots instead. And at
// most prefetchLayers+1 layers are open at once.
type pipeline struct {
	ctx     context.Context
	layers  []v1.Layer // in the order they are written: top layer first
	budget  *budget
	tokens  chan struct{}
	ahead   int
	wg      sync.WaitGroup
	streams []*stream
	started int
	flush   func() // called before the writer waits for input; may be nil
}

// stream is one layer's decompressed bytes in chunks.
type stream struct {
	p     *pipeline
	layer v1.Layer
	ch    chan *chunk   // closed by the producer once err is set
	err   error         // io.EOF or the failure; read after ch is closed
	head  chan struct{} // closed when the writer reaches this layer
	slots chan struct{} // the head's own bound
	cur   *chunk
}

type chunk struct {
	buf   []byte
	b     []byte // the unread part of buf
	token bool   // holds a budget token (else a slot)
}

func newPipeline(ctx context.Context, layers []v1.Layer, o *options, b *budget) *pipeline {
	p := &pipeline{
		ctx:    ctx,
		layers: layers,
		budget: b,
		tokens: make(chan struct{}, max(1, o.prefetchBytes/chunkSize)),
		ahead:  o.prefetchLayers,
	}
	if o.prefetchBytes < chunkSize {
		p.tokens = nil // a nil channel never accepts: no read-ahead into lower layers
	}
	for _, l := range layers {
		p.streams = append(p.streams, &stream{
			p:     p,
			layer: l,
			ch:    make(chan *chunk, cap(p.tokens)+headChunks),
			head:  make(chan struct{}),
			slots: make(chan struct{}, headChunks),
		})
	}
	return p
}

// next returns the stream of layer i, the next to be written, and starts the
// producers of the layers that may now be fetched ahead of it.
func (p *pipeline) next(i int) *stream {
	for p.started < len(p.streams) && p.started <= i+p.ahead {
		s := p.streams[p.started]
		p.wg.Add(1)
		go s.produce()
		p.started++
	}
	s := p.streams[i]
	close(s.head)
	return s
}

// wait returns once every producer has stopped. The caller cancels ctx
// first unless all streams were read to the end.
func (p *pipeline) wait() { p.wg.Wait() }

func (s *stream) produce() {
	defer s.p.wg.Done()
	defer close(s.ch)
	ctx := s.p.ctx
	var produced int64 // bytes handed to the writer, kept across reopenings
	for attempt := 0; ; attempt++ {
		err := s.run(ctx, &produced)
		switch {
		case err == nil:
			s.err = io.EOF
			return
		case ctx.Err() != nil:
			s.err = ctx.Err() // the read failed because ctx closed the blob
			return
		case attempt < maxReopens && retryable(err):
			// A prefetched layer may wait long with its connection open
			// while the writer is slow, and the registry may drop it; the
			// layer is read again from the start, skipping what was
			// already produced.
			continue
		default:
			s.err = err
			return
		}
	}
}

// run opens the layer, skips the first *produced bytes and sends the rest in
// chunks. It returns nil at the end of the layer.
func (s *stream) run(ctx context.Context, produced *int64) error {
	rc, err := openLayer(ctx, s.layer, s.p.budget)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }() // read-only: reads report their errors
	if *produced > 0 {
		if _, err := io.CopyN(io.Discard, rc, *produced); err != nil {
			return fmt.Errorf("skip to byte %d of a reopened layer: %w", *produced, err)
		}
		s.p.budget.total.Add(-*produced) // counted once already
	}
	for {
		c := &chunk{}
		select {
		case s.p.tokens <- struct{}{}:
			c.token = true
		case <-s.head:
			select {
			case s.slots <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		c.buf = getChunk()
		n, err := fill(rc, c.buf)
		if n > 0 {
			c.b = c.buf[:n]
			*produced += int64(n)
			s.ch <- c // never blocks: cap(ch) covers every token and slot
		} else {
			s.p.release(c)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// fill reads into b until it is full or the reader fails; unlike
// io.ReadFull it passes io.ErrUnexpectedEOF from r through as a failure
// (a truncated gzip stream) and reports a clean end as io.EOF.
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// retryable tells failures worth reading the layer again for (a dropped
// connection) from those that would only repeat (corrupt data, limits).
func retryable(err error) bool {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, ErrLimit), errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum),
		errors.As(err, &corrupt), errors.Is(err, zstd.ErrMagicMismatch), errors.Is(err, zstd.ErrCRCMismatch):
		return false
	}
	return true
}

// release returns a consumed chunk's buffer and its token or slot.
func (p *pipeline) release(c *chunk) {
	putChunk(c.buf)
	if c.token {
		<-p.tokens
	}
}

// Read implements io.Reader for the writer's side.
func (s *stream) Read(b []byte) (int, error) {
	for s.cur == nil || len(s.cur.b) == 0 {
		if s.cur != nil {
			s.done(s.cur)
			s.cur = nil
		}
		var c *chunk
		var ok bool
		select {
		case c, ok = <-s.ch:
		default:
			if s.p.flush != nil {
				s.p.flush() // about to wait: let what was written go out
			}
			select {
			case c, ok = <-s.ch:
			case <-s.p.ctx.Done():
				return 0, s.p.ctx.Err()
			}
		}
		if !ok {
			return 0, s.err
		}
		s.cur = c
	}
	n := copy(b, s.cur.b)
	s.cur.b = s.cur.b[n:]
	return n, nil
}

func (s *stream) done(c *chunk) {
	if !c.token {
		<-s.slots
	}
	s.p.release(c)
}
