package main

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// holdBlobs is a registry whose blob downloads of one digest wait until
// released: a hung upstream, which a real registry cannot be made to be.
type holdBlobs struct {
	next    http.Handler
	digest  string
	arrived chan struct{} // closed when the first held download arrives
	release chan struct{} // closed to let them go on
	once    sync.Once
}

func (h *holdBlobs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+h.digest) {
		h.once.Do(func() { close(h.arrived) })
		select {
		case <-h.release:
		case <-r.Context().Done():
			return
		}
	}
	h.next.ServeHTTP(w, r)
}

// testUIBusy: with the one image-read slot taken by a read whose upstream
// hangs, the file browser shows 503 TOO_BUSY with its title, detail and a
// Retry button, and Retry works once the slot is free.
func testUIBusy(t *testing.T, b *testBrowser) {
	img, err := crane.Image(map[string][]byte{"hello.txt": []byte("hello\n")})
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	d, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	// A push only HEADs blobs: holding GETs of the layer from the start
	// lets the push through.
	fake := &holdBlobs{next: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))), digest: d.String(),
		arrived: make(chan struct{}), release: make(chan struct{})}
	upstream := httptest.NewServer(fake)
	t.Cleanup(upstream.Close)
	host := strings.TrimPrefix(upstream.URL, "http://")
	ref, err := name.ParseReference(host+"/app:latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			close(fake.release)
		}
	}
	t.Cleanup(release)

	srv := startRun(t, nil, "--listen", "127.0.0.1:0", "--upstream", "slow="+upstream.URL, "--allow-anonymous", "--extract-concurrency", "1", "--log-level", "error")
	held := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.base + "/api/v1/repos/slow/app/-/files/latest/hello.txt")
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		held <- err
	}()
	select {
	case <-fake.arrived:
	case err := <-held:
		t.Fatalf("the held read ended before its upstream was held: %v", err)
	}

	var problem struct{ Title, Detail string }
	apiProblem(t, srv.base+"/api/v1/repos/slow/app/-/files/latest/", "", http.StatusServiceUnavailable, &problem)
	p := b.newPage(t)
	p.open(srv.base + "/ui/repos/slow/app/-/files/latest/")
	p.wantText(`.problem[data-status="503"] .problem-title`, problem.Title)
	p.wantText(`.problem[data-status="503"] .problem-detail`, problem.Detail)
	p.wantText(`.problem[data-status="503"] .problem-code`, "TOO_BUSY")
	if got := p.text(`.problem[data-status="503"] .problem-meta`); !strings.Contains(got, "retry after 2 s") {
		t.Errorf("problem meta = %q, want the Retry-After", got)
	}
	p.shot("13-too-busy")

	release()
	if err := <-held; err != nil {
		t.Fatalf("held read: %v", err)
	}
	p.do("retry", chromedp.Click(chromedp.CSS(`.problem[data-status="503"] button.retry`)), waitPath("/ui/repos/slow/app/-/files/latest/"))
	p.wantText(`#files-table tr[data-name="hello.txt"] td:first-child`, "hello.txt")
	p.noConsoleErrors("503")
}

// apiProblem requests url (with token, if any), wants status and decodes
// the problem into v.
func apiProblem(t *testing.T, url, token string, status int, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("GET %s = %d, want %d", url, resp.StatusCode, status)
	}
	if err := jsonDecode(resp.Body, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
