package extract

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// hangingBlob serves the first half of its bytes, then blocks until closed,
// like a registry that stops sending mid-blob.
type hangingBlob struct {
	blob
	blocked chan struct{} // closed when a read starts blocking
	closed  chan struct{}
	once    sync.Once
}

func newHanging(tb testing.TB, b []byte) *hangingBlob {
	return &hangingBlob{blob: blob{b: b, mt: types.DockerLayer}, blocked: make(chan struct{}), closed: make(chan struct{})}
}

func (h *hangingBlob) Compressed() (io.ReadCloser, error) {
	return &hangingReader{h: h, r: bytes.NewReader(h.b[:len(h.b)/2])}, nil
}

type hangingReader struct {
	h *hangingBlob
	r *bytes.Reader
}

func (r *hangingReader) Read(p []byte) (int, error) {
	if r.r.Len() > 0 {
		return r.r.Read(p)
	}
	r.h.once.Do(func() { close(r.h.blocked) })
	<-r.h.closed
	return 0, errors.New("read on closed body")
}

func (r *hangingReader) Close() error {
	select {
	case <-r.h.closed:
	default:
		close(r.h.closed)
	}
	return nil
}

// cancelWhileHung runs call, waits until hang's fetch blocks, cancels, and
// checks that call returns context.Canceled within a second and that the
// hanging blob was closed.
func cancelWhileHung(t *testing.T, hang *hangingBlob, name string, call func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	select {
	case <-hang.blocked:
	case err := <-done:
		t.Fatalf("%s returned %v before the fetch hung", name, err)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s() after cancel = %v, want context.Canceled", name, err)
		}
	case <-time.After(time.Second):
		t.Fatalf("%s did not return within 1s of cancel", name)
	}
	select {
	case <-hang.closed:
	default:
		t.Error("the hanging blob was not closed")
	}
}

func bigGzipLayer(tb testing.TB, name string, size int) []byte {
	tb.Helper()
	body := strings.Repeat("0123456789abcdef", size/16)
	return gzipBytes(tb, tarBytes(tb, file(name, body)))
}

func TestFlattenCancelStopsHangingFetch(t *testing.T) {
	tests := []struct {
		name    string
		hangTop bool
	}{
		{"lower layer being prefetched", false},
		{"layer being written", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hang := newHanging(t, bigGzipLayer(t, "hang", 4<<20))
			hangLayer, err := partial.CompressedToLayer(hang)
			if err != nil {
				t.Fatal(err)
			}
			top := gzLayer(t, file("top", "t"))
			layers := []v1.Layer{hangLayer, top} // base first
			if tc.hangTop {
				layers = []v1.Layer{top, hangLayer}
			}
			cancelWhileHung(t, hang, "Flatten", func(ctx context.Context) error {
				return Flatten(ctx, io.Discard, layers)
			})
		})
	}
}

// cancelOnWrite cancels the call the first time anything is written to it.
type cancelOnWrite struct{ cancel context.CancelFunc }

func (c cancelOnWrite) Write(p []byte) (int, error) { c.cancel(); return len(p), nil }

func TestFlattenCancelWhilePrefetchWaitsForBudget(t *testing.T) {
	var layers []v1.Layer
	for i := range 4 {
		layers = append(layers, blobLayer(t, bigGzipLayer(t, strings.Repeat("f", i+1), 2<<20), types.DockerLayer, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := Flatten(ctx, cancelOnWrite{cancel}, layers, WithPrefetchBytes(chunkSize), WithPrefetchLayers(3))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Flatten() = %v, want context.Canceled", err)
	}
}

func TestLookupCancelled(t *testing.T) {
	layers, _ := build(t, lookupImage, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Lookup(ctx, layers, "/etc/passwd"); !errors.Is(err, context.Canceled) {
		t.Errorf("Lookup(cancelled) = %v, want context.Canceled", err)
	}
}

func TestLookupBodyStopsOnCancel(t *testing.T) {
	hang := newHanging(t, bigGzipLayer(t, "big", 4<<20))
	l, err := partial.CompressedToLayer(hang)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := Lookup(ctx, []v1.Layer{l}, "/big", WithMaxFileSize(8<<20))
	if err != nil {
		t.Fatalf("Lookup(/big) = %v", err)
	}
	defer mustClose(t, e)
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, e.Body)
		done <- err
	}()
	<-hang.blocked
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("reading the body after cancel succeeded, want an error")
		}
	case <-time.After(time.Second):
		t.Fatal("the body read did not end within 1s of cancel")
	}
}

// flushRecorder records what had reached it at its first Flush.
type flushRecorder struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	first   []byte
	flushed chan struct{} // closed at the first Flush
}

func (f *flushRecorder) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.Write(p)
}

func (f *flushRecorder) Flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.first == nil {
		f.first = bytes.Clone(f.buf.Bytes())
		close(f.flushed)
	}
}

func TestFlattenFlushesBeforeWaiting(t *testing.T) {
	hang := newHanging(t, bigGzipLayer(t, "lower", 4<<20))
	lower, err := partial.CompressedToLayer(hang)
	if err != nil {
		t.Fatal(err)
	}
	top := gzLayer(t, file("etc/motd", "hello"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &flushRecorder{flushed: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- Flatten(ctx, w, []v1.Layer{lower, top}) }()
	// The lower layer never ends, so Flatten can only get here by flushing
	// while it waits for layer data.
	select {
	case <-w.flushed:
	case err := <-done:
		t.Fatalf("Flatten returned %v while a layer hung", err)
	case <-time.After(10 * time.Second):
		cancel()
		err := <-done
		t.Fatalf("Flatten did not flush in 10s while waiting for a hung layer (then returned %v)", err)
	}
	if !bytes.Contains(w.first, []byte("hello")) {
		t.Errorf("first Flush came with %d bytes lacking the top layer's file", len(w.first))
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Flatten() = %v, want context.Canceled", err)
	}
}

func TestLookupCancelStopsHangingFetch(t *testing.T) {
	hang := newHanging(t, bigGzipLayer(t, "big", 4<<20))
	l, err := partial.CompressedToLayer(hang)
	if err != nil {
		t.Fatal(err)
	}
	cancelWhileHung(t, hang, "Lookup", func(ctx context.Context) error {
		_, err := Lookup(ctx, []v1.Layer{l}, "/missing") // must read the whole layer
		return err
	})
}
