package handlers

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regapi/regapi/internal/registry/registrytest"
	"github.com/regapi/regapi/internal/transfer"
)

// brokenDestination is a proxy in front of the destination registry that
// lets the first manifest PUT through and then breaks every request: it
// resets the connection, or answers 500 with an error naming an internal
// storage URL, in turn. A real registry fails neither way on demand.
type brokenDestination struct {
	manifests, resets, leaks atomic.Int64
}

func (b *brokenDestination) front(t *testing.T) func(*registrytest.Registry) string {
	return func(dst *registrytest.Registry) string {
		target, err := url.Parse(dst.URL)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(target)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if b.manifests.Load() == 0 || r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/tags/list") {
				if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
					defer b.manifests.Add(1)
				}
				proxy.ServeHTTP(w, r)
				return
			}
			if (b.resets.Load()+b.leaks.Load())%2 == 0 {
				b.resets.Add(1)
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				// Linger 0: the close is a reset, the error the client
				// reports names both socket addresses.
				if err := conn.(*net.TCPConn).SetLinger(0); err != nil {
					t.Error(err)
				}
				if err := conn.Close(); err != nil {
					t.Error(err)
				}
				return
			}
			b.leaks.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"errors":[{"code":"UNAVAILABLE","message":"storage http://10.20.30.40:9000/bucket/blobs is down"}]}`))
		}))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
}

// portRE matches a port after a host.
var portRE = regexp.MustCompile(`:[0-9]{2,5}\b`)

// TestSyncErrorsNameNoAddress: when the destination breaks mid-way, each
// failed tag's line says what failed in the caller's terms (the step and
// the kind of failure) and names no address, URL or port; the details go to
// the server's log.
func TestSyncErrorsNameNoAddress(t *testing.T) {
	logs := &lockedBuffer{}
	broken := &brokenDestination{}
	w := newWriteWorld(t, writeOptions{
		DstFront: broken.front(t),
		Writes:   Writes{SyncConcurrency: 1},
		Config:   Config{Logger: slog.New(slog.NewTextHandler(logs, nil))},
	})
	img := registrytest.RandomImage(t, 1)
	for _, tag := range []string{"v1", "v2", "v3", "v4", "v5"} {
		registrytest.Push(t, w.src.Host+"/library/app:"+tag, img)
	}
	ans := runSync(t, w, syncRequest{Source: "src/library/app", Destination: "dst/mirror/app"}, nil)
	if ans.summary.Summary.Copied != 1 || ans.summary.Summary.Failed != 4 {
		t.Errorf("summary = %+v, want 1 copied, 4 failed", ans.summary)
	}
	if broken.resets.Load() == 0 || broken.leaks.Load() == 0 {
		t.Fatalf("%d resets, %d leaking 503s: want both faults shown", broken.resets.Load(), broken.leaks.Load())
	}
	for tag, e := range ans.events {
		if e.Status != transfer.StatusFailed {
			continue
		}
		if !strings.HasPrefix(e.Error, "copy tag "+tag+": the upstream registry") {
			t.Errorf("%s: error %q, want the step and the kind of failure", tag, e.Error)
		}
		for _, leak := range []string{"127.0.0.1", "10.20.30.40", "://", "tcp"} {
			if strings.Contains(e.Error, leak) {
				t.Errorf("%s: error %q names %q", tag, e.Error, leak)
			}
		}
		if portRE.MatchString(e.Error) {
			t.Errorf("%s: error %q names a port", tag, e.Error)
		}
	}
	// The server's log keeps the details.
	if got := logs.String(); !strings.Contains(got, "sync tag failed") || !strings.Contains(got, "127.0.0.1") {
		t.Errorf("the log lacks the failures' details:\n%s", got)
	}
}
