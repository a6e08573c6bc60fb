package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/regapi/regapi/internal/demo"
)

// TestUIBrowser walks the UI in headless chromium against real regapi
// servers (run() with --demo, one whose upstream hangs, one whose upstream
// fails one manifest): exploring the demo, files, hostile content, a
// narrow screen, errors, API URLs swapped to /ui/, a full server (503), an
// incomplete image table and a token-protected server. One browser
// serves every subtest.
func TestUIBrowser(t *testing.T) {
	b := startBrowser(t)
	srv := startRun(t, nil, "--listen", "127.0.0.1:0", "--demo", "--log-level", "warn")

	t.Run("explore", func(t *testing.T) { testUIExplore(t, b, srv.base) })
	t.Run("files", func(t *testing.T) { testUIFiles(t, b, srv.base) })
	t.Run("hostile", func(t *testing.T) { testUIHostile(t, b, srv.base) })
	t.Run("narrow", func(t *testing.T) { testUINarrow(t, b, srv.base) })
	t.Run("errors", func(t *testing.T) { testUIErrors(t, b, srv.base) })
	t.Run("mirror", func(t *testing.T) { testUIMirror(t, b, srv.base) })
	t.Run("busy", func(t *testing.T) { testUIBusy(t, b) })
	t.Run("incomplete", func(t *testing.T) { testUIIncomplete(t, b) })
	t.Run("token", func(t *testing.T) { testUIToken(t, b) })
}

// apiJSON decodes what the API answers at url (for the test to compare
// with what the page shows).
func apiJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func apiBytes(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d, %v", url, resp.StatusCode, err)
	}
	return b
}

// imageTags are the tags of an image table answer, in order.
func imageTags(t *testing.T, url string) []string {
	t.Helper()
	var table struct {
		Images []struct {
			Tag    string `json:"tag"`
			Digest string `json:"digest"`
		} `json:"images"`
	}
	apiJSON(t, url, &table)
	var tags []string
	for _, im := range table.Images {
		tags = append(tags, im.Tag)
	}
	return tags
}

// testUIExplore: registries → tree → a repository's table, sorted by
// version and filtered → an image with its platforms and referrers.
func testUIExplore(t *testing.T, b *testBrowser, base string) {
	p := b.newPage(t)
	p.open(base + "/ui/")
	p.wantText("#registries tbody tr td:first-child", "demo")
	p.wantText("#view .api-call pre.curl", "curl -s '"+base+"/api/v1/registries'")
	p.shot("1-registries")

	p.click(`#registries a`, "/ui/repos/demo")
	tree := p.texts("#tree-table tbody td:first-child")
	for _, want := range []string{"deckhouse/", "library/", "shop/", "test/", "hello"} {
		if !slices.Contains(tree, want) {
			t.Errorf("tree of demo = %q, want %q in it", tree, want)
		}
	}
	p.shot("2-tree")
	p.click(`#tree-table a[href="/ui/repos/demo/shop"]`, "/ui/repos/demo/shop")
	if got := p.texts("#tree-table tbody td:first-child"); !cmp.Equal(got, []string{"web"}) {
		t.Errorf("tree of demo/shop = %q, want [web]", got)
	}

	p.click(`#tree-table a[href="/ui/repos/demo/shop/web"]`, "/ui/repos/demo/shop/web")
	api := base + "/api/v1/repos/demo/shop/web/-/images"
	if got, want := p.texts("#images-table tbody td:first-child"), imageTags(t, api); !cmp.Equal(got, want) || len(got) < 5 {
		t.Errorf("table rows = %q, want the API's %q", got, want)
	}

	// Sort by version, newest first: the select navigates at once.
	p.do("sort by -semver",
		void(chromedp.Evaluate[bool](`(() => { const s = document.querySelector('#sort'); s.value = '-semver'; s.dispatchEvent(new Event('change')); return true })()`)),
		waitPath("/ui/repos/demo/shop/web?sort=-semver"))
	got := p.texts("#images-table tbody td:first-child")
	if want := imageTags(t, api+"?sort=-semver"); !cmp.Equal(got, want) {
		t.Errorf("table rows by -semver = %q, want the API's %q", got, want)
	}
	if len(got) < 3 || !cmp.Equal(got[:3], []string{"v2.0.0", "v2.0.0-beta.1", "v1.2.0"}) {
		t.Errorf("table rows by -semver start %q, want v2.0.0, v2.0.0-beta.1, v1.2.0", got)
	}
	p.wantText(`#images-table tr[data-tag="v2.0.0"] td:nth-child(3)`, "2025-11-11 09:30 UTC")
	if got := p.texts(`#images-table tr[data-tag="v2.0.0"] td:nth-child(5) li`); !cmp.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("v2.0.0's platforms = %q, want linux/amd64, linux/arm64", got)
	}
	p.wantText("#images .api-call pre.curl", "curl -s '"+api+"?sort=-semver'")
	p.shot("3-images")
	if out := os.Getenv("REGAPI_README_SCREENSHOT"); out != "" {
		// The README's picture (docs/ui.png): this view at a modest size.
		p.do("resize for the README", chromedp.EmulateViewport(1024, 680))
		png := pageRun(p, "README screenshot", chromedp.CaptureScreenshot())
		if err := os.WriteFile(out, png, 0o600); err != nil { //nolint:gosec // G703: the path is the developer's own choice
			t.Fatal(err)
		}
		p.do("restore the size", chromedp.EmulateViewport(1280, 900))
	}

	// The filter box: tags containing "1.2".
	p.do("filter 1.2",
		chromedp.SendKeys(chromedp.CSS("#filter"), "1.2"),
		chromedp.Click(chromedp.CSS(`#table-controls button[type=submit]`)),
		waitPath(`/ui/repos/demo/shop/web?sort=-semver&include=.*1%5C.2.*`))
	if got := p.texts("#images-table tbody td:first-child"); !cmp.Equal(got, []string{"v1.2.0", "v1.2.0-rc.1"}) {
		t.Errorf("filtered rows = %q, want [v1.2.0 v1.2.0-rc.1]", got)
	}

	// Paging: the table's next link is the API's next page.
	p.open(base + "/ui/repos/demo/shop/web?sort=-semver&limit=3")
	if got, want := p.texts("#images-table tbody td:first-child"), imageTags(t, api+"?sort=-semver&limit=3"); !cmp.Equal(got, want) || len(got) != 3 {
		t.Errorf("first page = %q, want the API's %q", got, want)
	}
	p.click(".pager a", "/ui/repos/demo/shop/web?last=v1.2.0&limit=3&sort=-semver")
	if got, want := p.texts("#images-table tbody td:first-child"), imageTags(t, api+"?last=v1.2.0&limit=3&sort=-semver"); !cmp.Equal(got, want) || len(got) != 3 {
		t.Errorf("second page = %q, want the API's %q", got, want)
	}

	// An image: its digest, platforms, layers, labels and referrers.
	p.open(base + "/ui/repos/demo/shop/web?sort=-semver")
	p.click(`#images-table tr[data-tag="v2.0.0"] a`, "/ui/repos/demo/shop/web/-/images/v2.0.0")
	p.do("wait for the referrers", chromedp.WaitVisible(chromedp.CSS("#referrers[data-state=ready] #referrers-table")))
	var inspect struct {
		Digest    string `json:"digest"`
		Platforms []struct {
			Digest string `json:"digest"`
		} `json:"platforms"`
	}
	apiJSON(t, base+"/api/v1/repos/demo/shop/web/-/images/v2.0.0", &inspect)
	p.wantText("#image-digest", inspect.Digest)
	if got := p.texts("#platforms-table tbody td:first-child"); !cmp.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms = %q, want linux/amd64, linux/arm64", got)
	}
	if got := p.texts("#layers-table tbody tr"); len(got) != 1 {
		t.Errorf("layers rows = %q, want one", got)
	}
	if got := p.texts("#labels-table th"); !slices.Contains(got, "org.opencontainers.image.version") {
		t.Errorf("labels = %q, want org.opencontainers.image.version", got)
	}
	types := p.texts("#referrers-table tbody td:first-child")
	slices.Sort(types)
	if want := []string{demo.SBOMType, demo.SignatureType}; !cmp.Equal(types, want) {
		t.Errorf("referrers = %q, want %q", types, want)
	}
	p.wantText("#referrers .api-call pre.curl", "curl -s '"+base+"/api/v1/repos/demo/shop/web/-/referrers/v2.0.0'")
	p.shot("4-image")

	// A referrer is an image page too: the SBOM, with its one file.
	var refs struct {
		Referrers []struct {
			Digest       string `json:"digest"`
			ArtifactType string `json:"artifactType"`
		} `json:"referrers"`
	}
	apiJSON(t, base+"/api/v1/repos/demo/shop/web/-/referrers/v2.0.0", &refs)
	for _, r := range refs.Referrers {
		if r.ArtifactType != demo.SBOMType {
			continue
		}
		p.click(`#referrers-table a[href$="`+r.Digest+`"]`, "/ui/repos/demo/shop/web/-/images/"+r.Digest)
		p.wantText("#image-digest", r.Digest)
		p.wantText("#layers-table tbody td:nth-child(3)", demo.SBOMType)
		raw := pageRun(p, "raw manifest", chromedp.TextContent(chromedp.CSS("#manifest-raw")))
		if !strings.Contains(raw, `"subject"`) || !strings.Contains(raw, inspect.Digest) {
			t.Errorf("the SBOM's raw manifest lacks its subject %s: %s", inspect.Digest, raw)
		}
		p.do("back to the image", chromedp.NavigateBack(), waitPath("/ui/repos/demo/shop/web/-/images/v2.0.0"))
	}

	// Another platform of the index.
	p.click(`#platforms-table a[href$="platform=linux%2Farm64"]`, "/ui/repos/demo/shop/web/-/images/v2.0.0?platform=linux%2Farm64")
	p.wantText("#image-digest", inspect.Platforms[1].Digest)
	p.noConsoleErrors()
}

// waitPath waits until the view for path (and query) finished loading,
// and fails at once if it shows an error.
func waitPath(path string) chromedp.Action[chromedp.Void] {
	sel := `#view[data-path="` + path + `"]`
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(sel+`[data-state=ready], `+sel+`[data-state=error]`)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			state, err := chromedp.Evaluate[string](`document.getElementById('view').dataset.state`)(ctx, t)
			if err == nil && state != "ready" {
				err = fmt.Errorf("view %s is in state %q", path, state)
			}
			return err
		}))
}

// testUIFiles: an image's file browser, down to /etc/os-release, and the
// filesystem's tar.
func testUIFiles(t *testing.T, b *testBrowser, base string) {
	p := b.newPage(t)
	p.open(base + "/ui/repos/demo/library/alpine/-/images/3.20")
	p.click(`.actions a[href^="/ui/repos/demo/library/alpine/-/files/3.20/"]`, "/ui/repos/demo/library/alpine/-/files/3.20/")
	root := p.texts("#files-table tbody td:first-child")
	if got := p.texts("#resolved"); len(got) != 0 {
		t.Errorf("/ is said to be a link: %q", got)
	}
	for _, want := range []string{"bin/", "etc/"} {
		if !slices.Contains(root, want) {
			t.Errorf("/ lists %q, want %q in it", root, want)
		}
	}
	p.click(`#files-table tr[data-name="bin"] a`, "/ui/repos/demo/library/alpine/-/files/3.20/bin/")
	p.wantText(`#files-table tr[data-name="sh"] td:nth-child(4)`, "→ /bin/busybox")
	p.click(`#files-table tr[data-name="sh"] a`, "/ui/repos/demo/library/alpine/-/files/3.20/bin/sh")
	p.wantText("#resolved code", "/bin/busybox")
	p.do("back to /", chromedp.NavigateBack(), waitPath("/ui/repos/demo/library/alpine/-/files/3.20/bin/"), chromedp.NavigateBack(), waitPath("/ui/repos/demo/library/alpine/-/files/3.20/"))
	p.click(`#files-table tr[data-name="etc"] a`, "/ui/repos/demo/library/alpine/-/files/3.20/etc/")
	p.wantText(`#files-table tr[data-name="os-release"] td:nth-child(3)`, "-rw-r--r--")
	p.click(`#files-table tr[data-name="os-release"] a`, "/ui/repos/demo/library/alpine/-/files/3.20/etc/os-release")
	want := apiBytes(t, base+"/api/v1/repos/demo/library/alpine/-/files/3.20/etc/os-release")
	got := pageRun(p, "file content", chromedp.TextContent(chromedp.CSS("#file-content")))
	if got != string(want) || !strings.Contains(got, `NAME="Alpine Linux"`) {
		t.Errorf("os-release shows %q, want the API's %q", got, want)
	}
	p.wantText("#file-size", "108 B (108 bytes)")
	if got := p.texts("#resolved"); len(got) != 0 {
		t.Errorf("os-release is said to be a link: %q", got)
	}
	p.shot("5-file")
	if got := p.download(chromedp.Click(chromedp.CSS("#download-file"))); !bytes.Equal(got, want) {
		t.Errorf("downloaded os-release = %q, want %q", got, want)
	}

	// The whole filesystem as tar, from the root directory's view.
	p.click(`h1.path a[href="/ui/repos/demo/library/alpine/-/files/3.20/"]`, "/ui/repos/demo/library/alpine/-/files/3.20/")
	tarball := p.download(chromedp.Click(chromedp.CSS("#download-tar")))
	files, err := tarFiles(tarball)
	if err != nil {
		t.Fatalf("downloaded tar: %v", err)
	}
	if files["etc/os-release"] != string(want) {
		t.Errorf("downloaded tar's etc/os-release = %q, want %q (files: %d)", files["etc/os-release"], want, len(files))
	}
	p.noConsoleErrors()
}

// testUINarrow shows the image page on a phone-sized screen: the page
// itself never scrolls sideways (wide tables scroll in their box).
func testUINarrow(t *testing.T, b *testBrowser, base string) {
	p := b.newPage(t)
	p.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	p.open(base + "/ui/repos/demo/shop/web/-/images/v2.0.0")
	p.do("wait for the referrers", chromedp.WaitVisible(chromedp.CSS("#referrers[data-state=ready]")))
	width := pageRun(p, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if width > 390 {
		t.Errorf("page is %d px wide on a 390 px screen, want no sideways scrolling", width)
	}
	p.shot("8-narrow-image")
	p.open(base + "/ui/repos/demo/shop/web?sort=-created")
	p.shot("9-narrow-images")
	p.noConsoleErrors()
}

func jsonDecode(r io.Reader, v any) error {
	return json.NewDecoder(r).Decode(v)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
