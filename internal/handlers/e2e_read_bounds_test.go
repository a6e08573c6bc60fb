package handlers

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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
// returns the file and the layer's digest.
func bigImage(t *testing.T, host, repo string, n int) ([]byte, v1.Hash) {
	t.Helper()
	blob := make([]byte, n)
	rand.Read(blob)
	layer := static.NewLayer(fxTar(t, fxFile("blob", string(blob))), types.OCIUncompressedLayer)
	registrytest.Push(t, host+"/"+repo+":v1", imageOf(t, readsPlatforms[0], layer))
	return blob, must(layer.Digest())
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

// TestReadsSlowReaderIsCut: a stream averaging less than MinRate once its
// grace period (IdleTimeout) has passed is cut, counted and logged, and
// the client sees a broken transfer; one that reads at twice the rate gets
// the whole tar. Time is a clock the reader moves, so the test is as fast
// as loopback whatever the rates.
func TestReadsSlowReaderIsCut(t *testing.T) {
	g := registrytest.StartGGCR(t, false)
	blob, _ := bigImage(t, g.Host, "slow/img", 32<<20)
	// The rate's grace is a minute: it buys 15 MiB at 256 KiB/s, and what
	// the server wrote ahead into socket buffers counts as sent. A reader
	// at an eighth of the rate falls behind by 7/8 of what it reads, so it
	// is cut after some 5 MiB of 32, whatever the buffers hold (a few MiB
	// on loopback).
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

	got, err = readPaced(t, a.c, url, clk, rate/8, 0)
	if err == nil || len(got) >= len(blob) {
		t.Errorf("a reader at an eighth of the minimum rate read %d bytes, err %v; want a broken, short transfer", len(got), err)
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
		blob, _ := bigImage(t, g.Host, "long/img", 32<<20)
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

// TestReadsUpstreamStallIsCut: a stream whose upstream stops sending
// mid-layer has no write pending for a deadline to end; the rate's timer
// cuts it, which cancels the upstream fetch and frees the slot.
func TestReadsUpstreamStallIsCut(t *testing.T) {
	g := registrytest.StartGGCR(t, false)
	blob, layer := bigImage(t, g.Host, "stall/img", 2<<20)
	stall := newTrickleProxy(t, g.Host, layer) // half the layer, then nothing
	rec := newReadRecorder()
	streams := newCountingStreams()
	// Real time: the stalled stream writes nothing a clock could be read
	// at. A second of grace, then 1 MiB sent buys 1/16 s at 16 MiB/s.
	a := newAPI(t, Config{
		Upstreams: []Upstream{{Name: "s", Host: stall.host, Client: clientFor(stall.host, nil)}},
		Reads:     Reads{IdleTimeout: time.Second, MinRate: 16 << 20, Metrics: rec},
		Streams:   streams,
	})
	t.Cleanup(stall.release)
	// The client's own bound only ends the test should the cut not come.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := getCtx(t, ctx, a.c, a.URL+"/api/v1/repos/s/stall/img/-/extract/v1")
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("extract = %s", res.Status)
	}
	got, err := io.ReadAll(res.Body)
	if err == nil || len(got) >= len(blob) {
		t.Errorf("a stream whose upstream stalled got %d bytes, err %v; want a broken, short transfer", len(got), err)
	}
	if why := rec.waitCut(t); why != cutSlow {
		t.Errorf("cut reason = %q, want %q", why, cutSlow)
	}
	select {
	case <-streams.ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the handler did not end after the cut")
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
