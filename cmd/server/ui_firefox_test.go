package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regapi/regapi/internal/demo"
)

// TestUIFirefox walks the UI's main views in headless Firefox against a
// real regapi with the demo (the UI supports current Chromium and Firefox;
// TestUIBrowser covers Chromium in depth): the registries and the tree by
// clicks, an image table sorted and filtered through its controls, back
// through the history, an image, the hostile image and files shown as
// text, and a file.
func TestUIFirefox(t *testing.T) {
	f := startFirefox(t)
	srv := startRun(t, nil, "--listen", "127.0.0.1:0", "--demo", "--log-level", "warn")
	base := srv.base

	f.open(base + "/ui/")
	if got := f.texts("#registries tbody tr td:first-child"); !slices.Equal(got, []string{"demo"}) {
		t.Errorf("registries = %q, want [demo]", got)
	}
	f.shot("1-registries")

	// Down the tree by the links the UI's router follows.
	f.click(`#registries a`, "/ui/repos/demo")
	if tree := f.texts("#tree-table tbody td:first-child"); !slices.Contains(tree, "shop/") {
		t.Errorf("tree of demo = %q, want shop/ in it", tree)
	}
	f.click(`#tree-table a[href="/ui/repos/demo/shop"]`, "/ui/repos/demo/shop")
	f.click(`#tree-table a[href="/ui/repos/demo/shop/web"]`, "/ui/repos/demo/shop/web")

	// The table, sorted newest version first by its select.
	api := base + "/api/v1/repos/demo/shop/web/-/images"
	f.js("sort by -semver", `const s = document.querySelector('#sort'); s.value = '-semver'; s.dispatchEvent(new Event('change')); return true`)
	f.waitView("/ui/repos/demo/shop/web?sort=-semver")
	first := imageTags(t, api+"?sort=-semver&limit=1")
	rows := f.texts("#images-table tbody td:first-child")
	if len(first) != 1 || len(rows) < 3 || rows[0] != first[0] {
		t.Errorf("table rows by -semver = %q, want the API's first %q ahead of more", rows, first)
	}
	f.shot("2-images")

	// The filter form, then back (popstate) to the sorted table.
	f.js("filter 1.2", `document.querySelector('#filter').value = '1.2'; document.querySelector('#table-controls button[type=submit]').click(); return true`)
	f.waitView(`/ui/repos/demo/shop/web?sort=-semver&include=.*1%5C.2.*`)
	if got := f.texts("#images-table tbody td:first-child"); !slices.Equal(got, []string{"v1.2.0", "v1.2.0-rc.1"}) {
		t.Errorf("filtered rows = %q, want [v1.2.0 v1.2.0-rc.1]", got)
	}
	f.js("back", `history.back(); return true`)
	f.waitView("/ui/repos/demo/shop/web?sort=-semver")

	// The first row's image, by a click.
	var inspect struct {
		Digest string `json:"digest"`
	}
	apiJSON(t, api+"/"+first[0], &inspect)
	f.click(`#images-table tbody tr:first-child a`, "/ui/repos/demo/shop/web/-/images/"+first[0])
	f.waitFor("the referrers", `document.querySelector('#referrers[data-state=ready] #referrers-table')`)
	if got := f.text("#image-digest"); got != inspect.Digest {
		t.Errorf("image digest = %q, want the API's %q", got, inspect.Digest)
	}
	f.shot("3-image")

	// Registry content that is markup stays text, and runs nothing.
	f.open(base + "/ui/repos/demo/" + demo.HostileRepo + "/-/images/latest")
	f.waitFor("the referrers", `document.querySelector('#referrers[data-state=ready]')`)
	labels := f.texts("#labels-table td")
	for _, want := range []string{demo.ScriptPayload, demo.ImgPayload} {
		if !slices.Contains(labels, want) {
			t.Errorf("labels show %q, want %q as text", labels, want)
		}
	}
	f.wantNotPwned()
	f.shot("4-hostile-image")
	f.open(base + "/ui/repos/demo/" + demo.HostileRepo + "/-/files/latest/")
	if names := f.texts("#files-table tbody td:first-child"); !slices.Contains(names, demo.ImgPayload) {
		t.Errorf("/ lists %q, want %q as text", names, demo.ImgPayload)
	}
	f.wantNotPwned()

	// A file's content.
	file := "/repos/demo/library/alpine/-/files/3.20/etc/os-release"
	f.open(base + "/ui" + file)
	want := apiBytes(t, base+"/api/v1"+file)
	if got := f.js("file content", `return document.querySelector('#file-content').textContent`); got != string(want) || !strings.Contains(got.(string), `NAME="Alpine Linux"`) {
		t.Errorf("os-release shows %q, want the API's %q", got, want)
	}
	f.shot("5-file")
	if errs := f.pageErrors(); len(errs) > 0 {
		t.Errorf("page script errors:\n%s", strings.Join(errs, "\n"))
	}
}

// open loads url and waits until its view finished loading well.
func (f *testFirefox) open(url string) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pageTimeout)
	defer cancel()
	if err := f.m.call(ctx, "WebDriver:Navigate", map[string]any{"url": url}, nil); err != nil {
		f.t.Fatalf("open %s: %v", url, err)
	}
	f.waitView("")
}

// click clicks the first element sel matches, once there is one, and
// waits for the view of path (with its query).
func (f *testFirefox) click(sel, path string) {
	f.t.Helper()
	f.waitFor(sel, "document.querySelector("+jsString(sel)+")")
	f.js("click "+sel, "document.querySelector("+jsString(sel)+").click(); return true")
	f.waitView(path)
}

// waitView waits until the view of path (with its query; "" for the
// current location) finished loading, and fails if it shows an error,
// any problem box or a script other than the UI's own, or if a page
// script failed so far.
func (f *testFirefox) waitView(path string) {
	f.t.Helper()
	sel := `'#view[data-path="' + location.pathname + location.search + '"]'`
	if path != "" {
		sel = jsString(`#view[data-path="` + path + `"]`)
	}
	f.waitFor("view "+path, `document.querySelector(`+sel+` + '[data-state=ready], ' + `+sel+` + '[data-state=error]')`)
	state := f.js("view state", `return JSON.stringify([document.getElementById('view').dataset.state,
		Array.from(document.querySelectorAll('.problem'), (e) => e.textContent.trim()),
		document.querySelectorAll('script').length])`)
	if state != `["ready",[],1]` {
		f.t.Fatalf("view %s: [state, problems, <script> count] = %s, want [\"ready\",[],1]\n%s", path, state, f.state())
	}
	if errs := f.pageErrors(); len(errs) > 0 {
		f.t.Fatalf("view %s: page script errors:\n%s", path, strings.Join(errs, "\n"))
	}
}

// wantNotPwned fails if a payload ran or became markup: the page has no
// <img> and only its own module script.
func (f *testFirefox) wantNotPwned() {
	f.t.Helper()
	state := f.js("check the sentinel", `return JSON.stringify([typeof window.__pwned, document.querySelectorAll('img').length, document.querySelectorAll('script').length])`)
	if state != `["undefined",0,1]` {
		f.t.Errorf("[typeof window.__pwned, <img> count, <script> count] = %s, want [\"undefined\",0,1]", state)
	}
}

// js runs script, a function body, in the page and returns its value.
func (f *testFirefox) js(what, script string) any {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pageTimeout)
	defer cancel()
	v, err := marionetteValue[any](ctx, f.m, "WebDriver:ExecuteScript", map[string]any{"script": script, "args": []any{}})
	if err != nil {
		f.t.Fatalf("%s: %v\n%s", what, err, f.state())
	}
	return v
}

// waitFor polls the JavaScript expression cond until it is truthy, for at
// most pageTimeout.
func (f *testFirefox) waitFor(what, cond string) {
	f.t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(pageTimeout)
	for {
		if f.js("wait for "+what, "return !!("+cond+")") == true {
			return
		}
		select {
		case <-deadline:
			f.t.Fatalf("wait for %s: not within %v\n%s", what, pageTimeout, f.state())
		case <-tick.C:
		}
	}
}

// text returns the trimmed text of the first element sel matches, once
// there is one.
func (f *testFirefox) text(sel string) string {
	f.t.Helper()
	f.waitFor(sel, "document.querySelector("+jsString(sel)+")")
	return f.js("text of "+sel, "return document.querySelector("+jsString(sel)+").textContent.trim()").(string)
}

// texts returns the trimmed text of every element sel matches, in order.
func (f *testFirefox) texts(sel string) []string {
	f.t.Helper()
	var out []string
	for _, v := range f.js("texts of "+sel, "return Array.from(document.querySelectorAll("+jsString(sel)+"), (e) => e.textContent.trim())").([]any) {
		out = append(out, v.(string))
	}
	return out
}

// shot writes a full-page PNG of the tab as firefox-name.png, beside the
// Chromium tests' screenshots.
func (f *testFirefox) shot(name string) {
	f.t.Helper()
	if err := f.writeShot("firefox-" + name); err != nil {
		f.t.Errorf("screenshot %s: %v", name, err)
	}
}

func (f *testFirefox) writeShot(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), pageTimeout)
	defer cancel()
	b64, err := marionetteValue[string](ctx, f.m, "WebDriver:TakeScreenshot", map[string]any{"full": true})
	if err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(f.shots, name+".png"), png, 0o600)
}

// state describes the page for a failure message (its URL, the view's
// data attributes and the start of its text) and writes a screenshot.
func (f *testFirefox) state() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.writeShot("FAILED-" + strings.ReplaceAll(f.t.Name(), "/", "-")); err != nil {
		f.t.Logf("failure screenshot: %v", err) // the failure being reported matters more
	}
	s, err := marionetteValue[string](ctx, f.m, "WebDriver:ExecuteScript", map[string]any{"args": []any{},
		"script": `return location.href + ' ' + JSON.stringify(Object.assign({}, (document.getElementById('view') || {dataset: {}}).dataset)) + ' ' + document.body.innerText.slice(0, 600)`})
	if err != nil {
		return fmt.Sprintf("page state: %v\n%s", err, f.logTail())
	}
	return "page: " + s + "\n" + f.logTail()
}
