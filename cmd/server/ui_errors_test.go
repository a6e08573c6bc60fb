package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// testUIMirror: an API URL with /api/v1/ swapped for /ui/ shows the
// view of what it answers.
func testUIMirror(t *testing.T, b *testBrowser, base string) {
	p := b.newPage(t)
	for _, tc := range []struct{ path, view, sel string }{
		{"/ui/repos/demo/library/alpine/-/tags", "tree", "#images-table"},
		{"/ui/repos/demo/deckhouse/-/repositories", "tree", "#tree-table"},
		{"/ui/repos/demo/library/alpine/-/manifests/3.20", "image", "#platforms-table"},
		{"/ui/repos/demo/library/alpine/-/referrers/3.20", "image", "#referrers-empty"},
		{"/ui/repos/demo/library/alpine/-/config/3.20", "image", "#layers-table"},
		{"/ui/repos/demo/library/alpine/-/extract/3.20?path=/etc", "files", `#files-table tr[data-name="os-release"]`},
		{"/ui/repos/demo/library/alpine/-/files/3.20/etc/os-release", "files", "#file-content"},
	} {
		p.open(base + tc.path)
		p.do(tc.path, chromedp.WaitVisible(chromedp.CSS(`#view[data-view=`+tc.view+`][data-state=ready] `+tc.sel)))
	}
	p.noConsoleErrors()
}

// testUIErrors: what is not there is said, with the problem's title and
// detail as the API answered them.
func testUIErrors(t *testing.T, b *testBrowser, base string) {
	p := b.newPage(t)
	var problem struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Code   string `json:"code"`
	}
	resp, err := http.Get(base + "/api/v1/repos/demo/shop/web/-/images/nope")
	if err != nil {
		t.Fatal(err)
	}
	derr := json.NewDecoder(resp.Body).Decode(&problem)
	resp.Body.Close()
	if derr != nil {
		t.Fatalf("decode the problem: %v", derr)
	}
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("inspect of a missing tag = %d, want 404", resp.StatusCode)
	}
	p.open(base + "/ui/repos/demo/shop/web/-/images/nope")
	p.wantText(`#summary .problem[data-status="404"] .problem-title`, problem.Title)
	p.wantText(`#summary .problem[data-status="404"] .problem-detail`, problem.Detail)
	p.wantText(`#summary .problem[data-status="404"] .problem-code`, problem.Code)
	p.shot("12-not-found")

	p.open(base + "/ui/repos/demo/library/nope")
	p.wantText("#nothing-here .problem-title", "Nothing here")
	p.open(base + "/ui/elsewhere")
	p.wantText(`#view[data-view=notfound] .problem-title`, "No such view")
	p.noConsoleErrors("404")
}
