package handlers

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// TestReadsConcurrencyLimit holds two reads (an extract and a file) open
// on a gated upstream: a third is refused at once with 503 and
// Retry-After, and once they finish a read goes through again. One caller
// holds both, its share raised to the whole: the server's limit is under
// test (TestReadsCallerShare tests the share).
func TestReadsConcurrencyLimit(t *testing.T) {
	a := newReadsAPI(t, Reads{Concurrency: 2, CallerConcurrency: 2})
	a.g.holdBlob(must(a.single[2].Digest())) // the top layer: both reads start there
	base := a.URL + "/api/v1/repos/g/reads/single/-/"
	done := make(chan error, 2)
	for _, path := range []string{"extract/v1", "files/v1/top.txt"} {
		go func() {
			res := getCtx(t, context.Background(), a.c, base+path)
			defer res.Body.Close()
			_, err := io.Copy(io.Discard, res.Body)
			if err == nil && res.StatusCode != http.StatusOK {
				err = errors.New(path + ": " + res.Status)
			}
			done <- err
		}()
	}
	a.g.waitHeld(t)
	a.g.waitHeld(t)

	for _, path := range []string{"files/v1/top.txt", "extract/v1"} {
		res := a.get(t, "/api/v1/repos/g/reads/single/-/"+path)
		res.problem(t, http.StatusServiceUnavailable, "TOO_BUSY")
		if got := res.Header.Get("Retry-After"); got != "2" {
			t.Errorf("%s: Retry-After = %q, want 2", path, got)
		}
	}
	// Other routes are not limited.
	if res := a.get(t, "/api/v1/repos/g/reads/single/-/digest/v1"); res.Status != http.StatusOK {
		t.Errorf("digest while reads are full = %d, want 200", res.Status)
	}

	a.g.release()
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("held read: %v", err)
		}
	}
	if res := a.get(t, "/api/v1/repos/g/reads/single/-/files/v1/top.txt"); res.Status != http.StatusOK {
		t.Errorf("files after the held reads ended = %d, want 200", res.Status)
	}
}

// TestReadsClientDisconnectCancelsUpstream: a client that goes away while
// the upstream blob hangs cancels that blob request within a second, and
// the handler ends (goleak checks that nothing is left behind).
func TestReadsClientDisconnectCancelsUpstream(t *testing.T) {
	for _, path := range []string{"extract/v1", "files/v1/top.txt", "files/v1/etc/os-release"} {
		t.Run(path, func(t *testing.T) {
			a := newReadsAPI(t, Reads{})
			a.g.holdBlob(must(a.single[2].Digest()))
			ctx, cancel := context.WithCancel(context.Background())
			failed := make(chan error, 1)
			go func() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/api/v1/repos/g/reads/single/-/"+path, nil)
				res, err := a.c.Do(req)
				if err == nil {
					res.Body.Close()
				}
				failed <- err
			}()
			a.g.waitHeld(t)
			cancelled := time.Now()
			cancel()

			select {
			case ended := <-a.g.ended:
				if d := ended.Sub(cancelled); d > time.Second {
					t.Errorf("upstream blob request cancelled %v after the client left, want within 1s", d)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the upstream blob request was never cancelled")
			}
			if n := a.g.cancelled.Load(); n != 1 {
				t.Errorf("cancelled upstream blob requests = %d, want 1", n)
			}
			if err := <-failed; !errors.Is(err, context.Canceled) {
				t.Errorf("client error = %v, want context.Canceled", err)
			}
			select {
			case <-a.streams.ended:
			case <-time.After(10 * time.Second):
				t.Fatal("the handler did not end after the client left")
			}
		})
	}
}

// TestExtractIdleTimeout: a client that stops reading is cut after the
// idle timeout, and its upstream reads end with it.
func TestExtractIdleTimeout(t *testing.T) {
	g := registrytest.StartGGCR(t, false)
	// Incompressible and larger than the loopback socket buffers, so the
	// server's writes block once the client stops reading.
	blob := make([]byte, 48<<20)
	rand.Read(blob)
	layer := static.NewLayer(fxTar(t, fxFile("blob", string(blob))), types.OCIUncompressedLayer)
	registrytest.Push(t, g.Host+"/idle/img:v1", imageOf(t, readsPlatforms[0], layer))
	streams := newCountingStreams()
	rec := newReadRecorder()
	a := newAPI(t, Config{
		Upstreams: []Upstream{{Name: "g", Host: g.Host, Client: clientFor(g.Host, nil)}},
		Reads:     Reads{IdleTimeout: 200 * time.Millisecond, Metrics: rec},
		Streams:   streams,
		// As telemetry's middleware does: the deadline must reach the
		// connection through a wrapped writer.
		Middleware: []func(http.Handler) http.Handler{wrapWriter},
	})

	res := getCtx(t, context.Background(), a.c, a.URL+"/api/v1/repos/g/idle/img/-/extract/v1")
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("extract = %s, want 200", res.Status)
	}
	// Read nothing more: the handler must give up on its own.
	select {
	case <-streams.ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the stream to a client that stopped reading was never cut")
	}
	n, err := io.Copy(io.Discard, res.Body)
	if err == nil || n >= int64(len(blob)) {
		t.Errorf("after the cut the client read %d bytes, err %v; want a broken, short transfer", n, err)
	}
	if sent := streams.bytes.Load(); sent == 0 || sent >= int64(len(blob)) {
		t.Errorf("streams counted %d bytes, want some but not all of %d", sent, len(blob))
	}
	if why := rec.waitCut(t); why != cutIdle {
		t.Errorf("cut reason = %q, want %q", why, cutIdle)
	}
}

// dripBlob serves one blob of next in pieces, pausing between them: a slow
// upstream, the fault under test.
type dripBlob struct {
	next   http.Handler
	digest string
	piece  int
	pause  time.Duration
}

func (d *dripBlob) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+d.digest) {
		d.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	d.next.ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	body := rec.Body.Bytes()
	for len(body) > 0 {
		n := min(d.piece, len(body))
		if _, err := w.Write(body[:n]); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		body = body[n:]
		if len(body) > 0 {
			select {
			case <-time.After(d.pause):
			case <-r.Context().Done():
				return
			}
		}
	}
}

// TestExtractSlowUpstreamIsNotCut: a download that keeps moving, with
// gaps longer than the idle timeout between the upstream's pieces, is
// never cut; the timeout is per write, not per response.
func TestExtractSlowUpstreamIsNotCut(t *testing.T) {
	blob := make([]byte, 2<<20)
	rand.Read(blob)
	layer := static.NewLayer(fxTar(t, fxFile("blob", string(blob))), types.OCIUncompressedLayer)
	img := imageOf(t, readsPlatforms[0], layer)
	const idle = 150 * time.Millisecond
	drip := &dripBlob{
		next:   ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))),
		digest: must(layer.Digest()).String(),
		piece:  512 << 10, // above Flatten's 256 KiB chunks: each piece is written on its own
		pause:  2 * idle,
	}
	srv := httptest.NewServer(drip)
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	registrytest.Push(t, host+"/slow/img:v1", img)
	a := newAPI(t, Config{
		Upstreams: []Upstream{{Name: "s", Host: host, Client: clientFor(host, nil)}},
		Reads:     Reads{IdleTimeout: idle},
	})

	started := time.Now()
	res := a.get(t, "/api/v1/repos/s/slow/img/-/extract/v1")
	took := time.Since(started)
	if res.Status != http.StatusOK {
		t.Fatalf("extract = %d %.200s", res.Status, res.Body)
	}
	files := tarFiles(t, res.Body)
	if files["blob"] != string(blob) {
		t.Errorf("extract through a slow upstream: blob of %d bytes, want %d", len(files["blob"]), len(blob))
	}
	if took < 3*idle {
		t.Errorf("the upstream dripped for only %v, not past the idle timeout %v: the test proves nothing", took, idle)
	}
}

// unwrappingWriter wraps a ResponseWriter the way logging and metrics
// middleware do, exposing the original only through Unwrap.
type unwrappingWriter struct{ w http.ResponseWriter }

func (u unwrappingWriter) Header() http.Header         { return u.w.Header() }
func (u unwrappingWriter) Write(p []byte) (int, error) { return u.w.Write(p) }
func (u unwrappingWriter) WriteHeader(code int)        { u.w.WriteHeader(code) }
func (u unwrappingWriter) Unwrap() http.ResponseWriter { return u.w }

func wrapWriter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(unwrappingWriter{w}, r)
	})
}
