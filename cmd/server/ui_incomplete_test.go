package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// brokenManifest is a registry that answers 500 to the GETs of one
// manifest while broken is set: a fault a real registry cannot be made to
// show for one image alone.
type brokenManifest struct {
	next   http.Handler
	digest string
	broken atomic.Bool
	hits   atomic.Int64 // GETs of the manifest answered 500
}

func (b *brokenManifest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.broken.Load() && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/manifests/"+b.digest) {
		b.hits.Add(1)
		http.Error(w, "storage backend down", http.StatusInternalServerError)
		return
	}
	b.next.ServeHTTP(w, r)
}

// testUIIncomplete: a table with one tag whose manifest the registry fails
// to give shows the other rows, that tag's row with the error the API
// gave, and an "Incomplete" notice whose Retry shows the whole table once
// the registry is healthy again.
func testUIIncomplete(t *testing.T, b *testBrowser) {
	fake := &brokenManifest{next: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
	upstream := httptest.NewServer(fake)
	t.Cleanup(upstream.Close)
	host := strings.TrimPrefix(upstream.URL, "http://")
	for _, tag := range []string{"v1", "v2"} {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(host+"/app:"+tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		if tag == "v2" {
			d, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			fake.digest = d.String()
		}
	}
	fake.broken.Store(true)
	srv := startRun(t, nil, "--listen", "127.0.0.1:0", "--upstream", "flaky="+upstream.URL, "--allow-anonymous", "--log-level", "error")

	var table struct {
		Incomplete bool `json:"incomplete"`
		Images     []struct {
			Tag   string `json:"tag"`
			Error *struct {
				Code   string `json:"code"`
				Detail string `json:"detail"`
			} `json:"error"`
		} `json:"images"`
	}
	apiJSON(t, srv.base+"/api/v1/repos/flaky/app/-/images", &table)
	if !table.Incomplete || len(table.Images) != 2 || table.Images[1].Error == nil || table.Images[0].Error != nil {
		t.Fatalf("API table = %+v, want v1 described, v2 failed, incomplete", table)
	}
	failed := table.Images[1].Error

	p := b.newPage(t)
	p.open(srv.base + "/ui/repos/flaky/app")
	p.wantText("#images-incomplete .problem-title", "Incomplete")
	p.wantText(`#images-table tr[data-tag="v2"].failed .problem-code`, failed.Code)
	p.wantText(`#images-table tr[data-tag="v2"].failed .row-error-detail`, failed.Detail)
	p.wantText(`#images-table tr[data-tag="v1"]:not(.failed) td:first-child`, "v1")
	p.shot("14-incomplete-table")
	if fake.hits.Load() == 0 {
		t.Fatal("the broken manifest was never asked for")
	}

	fake.broken.Store(false)
	p.do("retry", chromedp.Click(chromedp.CSS("#images-incomplete button.retry")),
		chromedp.WaitVisible(chromedp.CSS(`#images[data-state=ready] #images-table tr[data-tag="v2"]:not(.failed)`)))
	if n := len(p.texts("#images-incomplete")); n != 0 {
		t.Errorf("after a retry against a healthy registry, %d incomplete notices, want none", n)
	}
	if n := len(p.texts("#images-table tr.failed")); n != 0 {
		t.Errorf("after a retry against a healthy registry, %d failed rows, want none", n)
	}
	p.noConsoleErrors()
}
