package handlers

import (
	"context"
	"crypto/rand"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// readRecorder is a ReadMetrics that records what it counts.
type readRecorder struct {
	mu      sync.Mutex
	cuts    []string
	refused []string
	cut     chan string
}

func newReadRecorder() *readRecorder { return &readRecorder{cut: make(chan string, 16)} }

func (m *readRecorder) StreamCut(reason string) {
	m.mu.Lock()
	m.cuts = append(m.cuts, reason)
	m.mu.Unlock()
	m.cut <- reason
}

func (m *readRecorder) Refused(reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refused = append(m.refused, reason)
}

func (m *readRecorder) counted() (cuts, refused []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.cuts...), append([]string(nil), m.refused...)
}

// waitCut returns the reason of the next cut counted.
func (m *readRecorder) waitCut(t *testing.T) string {
	t.Helper()
	select {
	case r := <-m.cut:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no read was cut")
		return ""
	}
}

// bigImage pushes an image of one uncompressed layer holding a file of n
// random bytes (incompressible, larger than loopback socket buffers) and
// returns the file.
func bigImage(t *testing.T, host, repo string, n int) []byte {
	t.Helper()
	blob := make([]byte, n)
	rand.Read(blob)
	layer := static.NewLayer(fxTar(t, fxFile("blob", string(blob))), types.OCIUncompressedLayer)
	registrytest.Push(t, host+"/"+repo+":v1", imageOf(t, readsPlatforms[0], layer))
	return blob
}

// readPaced reads the body of GET url in 64 KiB pieces and moves clk as a
// reader at speed bytes per second would see time pass, jumping it by jump
// once after the first MiB. It returns the bytes read and the error that
// ended the body (nil at its clean end).
func readPaced(t *testing.T, c *http.Client, url string, clk *fakeClock, speed float64, jump time.Duration) ([]byte, error) {
	t.Helper()
	res := getCtx(t, context.Background(), c, url)
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %s", url, res.Status)
	}
	var got []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := res.Body.Read(buf)
		got = append(got, buf[:n]...)
		if speed > 0 {
			clk.advance(time.Duration(float64(n) / speed * float64(time.Second)))
		}
		if jump > 0 && len(got) >= 1<<20 {
			clk.advance(jump)
			jump = 0
		}
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
	}
}

// TestReadsSlowReaderIsCut: a client that keeps its stream waiting longer
// than its bytes pay for at MinRate, past a grace period (IdleTimeout), is
// cut, counted and logged, and sees a broken transfer; one that reads at
// twice the rate gets the whole tar. Time is a clock the reader moves, so
// the test is as fast as loopback whatever the rates.
func TestReadsSlowReaderIsCut(t *testing.T) {
	g := registrytest.StartGGCR(t, false)
	blob := bigImage(t, g.Host, "slow/img", 32<<20)
	// The server waits for a reader at a sixteenth of the rate sixteen
	// times as long as its bytes buy: once the socket buffers are full
	// (a few MiB on loopback, counted as sent) it waits in every write,
	// and the minute of grace (15 MiB at 256 KiB/s) is spent after some
	// 8 MiB of 32 read, even if only half the clock's moves fall inside
	// a write. One at twice the rate never makes it wait more than half
	// what its bytes buy.
	const rate = 256 << 10
	clk := &fakeClock{}
	rec := newReadRecorder()
	logs := &lockedBuffer{}
	a := newAPI(t, Config{
		Upstreams:  []Upstream{{Name: "g", Host: g.Host, Client: clientFor(g.Host, nil)}},
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
		Reads:      Reads{MinRate: rate, now: clk.now, Metrics: rec},
		Middleware: []func(http.Handler) http.Handler{wrapWriter},
	})
	url := a.URL + "/api/v1/repos/g/slow/img/-/extract/v1"

	got, err := readPaced(t, a.c, url, clk, 2*rate, 0)
	if err != nil {
		t.Fatalf("a reader at twice the minimum rate: %v after %d bytes", err, len(got))
	}
	if files := tarFiles(t, got); files["blob"] != string(blob) {
		t.Errorf("a reader at twice the minimum rate got a blob of %d bytes, want %d", len(files["blob"]), len(blob))
	}
	if cuts, _ := rec.counted(); len(cuts) != 0 {
		t.Fatalf("cuts counted for a reader above the rate: %v", cuts)
	}

	got, err = readPaced(t, a.c, url, clk, rate/16, 0)
	if err == nil || len(got) >= len(blob) {
		t.Errorf("a reader at a sixteenth of the minimum rate read %d bytes, err %v; want a broken, short transfer", len(got), err)
	}
	if why := rec.waitCut(t); why != cutSlow {
		t.Errorf("cut reason = %q, want %q", why, cutSlow)
	}
	if l := logs.String(); !strings.Contains(l, `msg="read cut" reason=slow`) {
		t.Errorf("no log line of the cut:\n%s", l)
	}
}

// TestReadsMaxDuration: a read past MaxDuration is cut whatever its rate:
// mid-stream, a broken transfer; before its first byte (an index build
// stuck on its upstream), 504.
func TestReadsMaxDuration(t *testing.T) {
	t.Run("streaming", func(t *testing.T) {
		g := registrytest.StartGGCR(t, false)
		blob := bigImage(t, g.Host, "long/img", 32<<20)
		clk := &fakeClock{}
		rec := newReadRecorder()
		a := newAPI(t, Config{
			Upstreams: []Upstream{{Name: "g", Host: g.Host, Client: clientFor(g.Host, nil)}},
			// A rate of a byte per second: only the duration can cut.
			Reads: Reads{MinRate: 1, MaxDuration: 10 * time.Minute, now: clk.now, Metrics: rec},
		})
		got, err := readPaced(t, a.c, a.URL+"/api/v1/repos/g/long/img/-/extract/v1", clk, 0, 11*time.Minute)
		if err == nil || len(got) >= len(blob) {
			t.Errorf("a read past the maximum duration got %d bytes, err %v; want a broken, short transfer", len(got), err)
		}
		if why := rec.waitCut(t); why != cutDuration {
			t.Errorf("cut reason = %q, want %q", why, cutDuration)
		}
	})
	t.Run("before the first byte", func(t *testing.T) {
		rec := newReadRecorder()
		// Real time: nothing is written for a clock to be read at. The
		// layer is held until the test ends, so only the bound ends the
		// request, however slow the machine.
		a := newReadsAPI(t, Reads{MaxDuration: 300 * time.Millisecond, Metrics: rec})
		t.Cleanup(a.g.release)
		a.g.holdBlob(must(a.single[0].Digest()))
		select {
		case got := <-a.goGet("/api/v1/repos/g/reads/single/-/files/v1/etc"):
			if got.err != nil {
				t.Fatal(got.err)
			}
			got.problem(t, http.StatusGatewayTimeout, "UPSTREAM_TIMEOUT")
		case <-time.After(30 * time.Second):
			t.Fatal("a read stuck before its first byte outlived its maximum duration")
		}
		if why := rec.waitCut(t); why != cutDuration {
			t.Errorf("cut reason = %q, want %q", why, cutDuration)
		}
	})
}

// TestReadsWaitingForUpstreamIsNotSlow: the rate counts the time a stream
// waits for its client, not for its upstream: a download whose upstream
// pauses longer than the grace period, with a rate no byte count could
// pay for, is not cut.
func TestReadsWaitingForUpstreamIsNotSlow(t *testing.T) {
	blob := make([]byte, 1<<20)
	rand.Read(blob)
	layer := static.NewLayer(fxTar(t, fxFile("blob", string(blob))), types.OCIUncompressedLayer)
	const grace = time.Second
	drip := &dripBlob{
		next:   ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))),
		digest: must(layer.Digest()).String(),
		piece:  512 << 10, // above Flatten's 256 KiB chunks: each piece is written on its own
		pause:  3 * grace / 2,
	}
	srv := httptest.NewServer(drip)
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	registrytest.Push(t, host+"/wait/img:v1", imageOf(t, readsPlatforms[0], layer))
	rec := newReadRecorder()
	a := newAPI(t, Config{
		Upstreams: []Upstream{{Name: "w", Host: host, Client: clientFor(host, nil)}},
		// A GiB a second: every moment spent waiting for this client past
		// the grace would cut it.
		Reads: Reads{IdleTimeout: grace, MinRate: 1 << 30, Metrics: rec},
	})

	started := time.Now()
	res := a.get(t, "/api/v1/repos/w/wait/img/-/extract/v1")
	took := time.Since(started)
	if res.Status != http.StatusOK {
		t.Fatalf("extract = %d %.200s", res.Status, res.Body)
	}
	if files := tarFiles(t, res.Body); files["blob"] != string(blob) {
		t.Errorf("extract through a pausing upstream: blob of %d bytes, want %d", len(files["blob"]), len(blob))
	}
	if cuts, _ := rec.counted(); len(cuts) != 0 {
		t.Errorf("cuts counted while the stream waited for its upstream: %v", cuts)
	}
	if took < grace {
		t.Errorf("the upstream paused for only %v, not past the grace %v: the test proves nothing", took, grace)
	}
}

// TestReadsCallerShare: a caller holding its share of the read slots (half
// of them) is answered 503 TOO_BUSY, while another caller still gets a
// slot.
func TestReadsCallerShare(t *testing.T) {
	rec := newReadRecorder()
	a := newReadsAPI(t, Reads{Concurrency: 4, Metrics: rec})
	t.Cleanup(a.g.release)
	registrytest.Push(t, a.g.Host+"/reads/other:v1", imageOf(t, readsPlatforms[0], gzipLayer(t, fxFile("other.txt", "other\n"))))
	a.g.holdBlob(must(a.single[2].Digest())) // the top layer: both reads start there
	base := "/api/v1/repos/g/reads/single/-/"
	held := []<-chan answer{a.goGet(base + "extract/v1"), a.goGet(base + "files/v1/top.txt")} // the admin token
	a.g.waitHeld(t)
	a.g.waitHeld(t)

	res := a.get(t, base+"files/v1/version.json")
	if p := res.problem(t, http.StatusServiceUnavailable, "TOO_BUSY"); !strings.Contains(p.Detail, "this caller has 2") {
		t.Errorf("detail %q does not say the caller holds its share", p.Detail)
	}
	if got := res.Header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2", got)
	}
	anon := http.Header{"Authorization": nil} // another caller: its address
	if res := a.do(t, http.MethodGet, "/api/v1/repos/g/reads/other/-/files/v1/other.txt", anon); res.Status != http.StatusOK || string(res.Body) != "other\n" {
		t.Errorf("another caller while the first holds its share = %d %q, want 200", res.Status, res.Body)
	}
	if _, refused := rec.counted(); strings.Join(refused, ",") != refusedCaller {
		t.Errorf("refusals counted = %v, want [%s]", refused, refusedCaller)
	}

	a.g.release()
	for _, ch := range held {
		if got := <-ch; got.err != nil || got.Status != http.StatusOK {
			t.Errorf("held read: %d %v", got.Status, got.err)
		}
	}
	if res := a.get(t, base+"files/v1/version.json"); res.Status != http.StatusOK {
		t.Errorf("the first caller once its reads ended = %d, want 200", res.Status)
	}
}
