package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/regapi/regapi/internal/demo"
)

// testUIHostile opens test/hostile, whose labels, annotations, file names
// and content hold markup that would set window.__pwned if it ran: the
// page must show it as text.
func testUIHostile(t *testing.T, b *testBrowser, base string) {
	p := b.newPage(t)
	p.open(base + "/ui/repos/demo/" + demo.HostileRepo + "/-/images/latest")
	p.do("wait for the referrers", chromedp.WaitVisible(chromedp.CSS("#referrers[data-state=ready] #referrers-table")))
	labels := p.texts("#labels-table td")
	for _, want := range []string{demo.ScriptPayload, demo.ImgPayload} {
		if !slices.Contains(labels, want) {
			t.Errorf("labels show %q, want %q as text", labels, want)
		}
	}
	if got := p.texts("#labels-table th"); !slices.Contains(got, demo.ImgPayload) {
		t.Errorf("label keys show %q, want %q as text", got, demo.ImgPayload)
	}
	if got := p.text("#env"); got != "PAYLOAD="+demo.ImgPayload {
		t.Errorf("env shows %q", got)
	}
	if got := p.texts("#referrers-table dd"); !cmp.Equal(got, []string{demo.ImgPayload}) {
		t.Errorf("referrer annotations show %q, want %q", got, demo.ImgPayload)
	}
	if got := pageRun(p, "raw manifest", chromedp.TextContent(chromedp.CSS("#manifest-raw"))); !strings.Contains(got, demo.ScriptPayload) {
		t.Errorf("raw manifest lacks the annotation %q as text: %q", demo.ScriptPayload, got)
	}
	p.shot("6-hostile-image")
	assertNotPwned(t, p)

	p.open(base + "/ui/repos/demo/" + demo.HostileRepo + "/-/files/latest/")
	names := p.texts("#files-table tbody td:first-child")
	for _, want := range []string{demo.ImgPayload, "<script>window.__pwned=1</", "index.html"} {
		if !slices.Contains(names, want) {
			t.Errorf("/ lists %q, want %q as text", names, want)
		}
	}
	p.shot("7-hostile-files")
	p.click(`#files-table tr[data-name="index.html"] a`, "/ui/repos/demo/"+demo.HostileRepo+"/-/files/latest/index.html")
	if got := pageRun(p, "file content", chromedp.TextContent(chromedp.CSS("#file-content"))); got != "<!doctype html>"+demo.ScriptPayload+demo.ImgPayload+"\n" {
		t.Errorf("index.html shows %q, want its markup as text", got)
	}
	p.open(base + "/ui/repos/demo/" + demo.HostileRepo + "/-/files/latest/")
	p.click(`#files-table tr[data-type="dir"] a`, "/ui/repos/demo/"+demo.HostileRepo+"/-/files/latest/%3Cscript%3Ewindow.__pwned%3D1%3C/")
	p.click(`#files-table tr[data-name="script>"] a`, "/ui/repos/demo/"+demo.HostileRepo+"/-/files/latest/%3Cscript%3Ewindow.__pwned%3D1%3C/script%3E")
	p.wantText("h1.path", "/<script>window.__pwned=1</script>")
	assertNotPwned(t, p)
	p.noConsoleErrors()
}

// assertNotPwned checks that no payload ran and none became markup: the
// page has no <img> and only its own module script.
func assertNotPwned(t *testing.T, p *testPage) {
	t.Helper()
	state := pageRun(p, "check the sentinel", chromedp.Evaluate[string](
		`JSON.stringify([typeof window.__pwned, document.querySelectorAll('img').length, document.querySelectorAll('script').length])`))
	if state != `["undefined",0,1]` {
		t.Errorf("[typeof window.__pwned, <img> count, <script> count] = %s, want [\"undefined\",0,1]", state)
	}
}
