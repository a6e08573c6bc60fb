package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
)

// testUIToken runs against a server without anonymous access: the UI
// shows the 401 and a token field; with a pull token for shop/web it
// shows that repository and nothing else.
func testUIToken(t *testing.T, b *testBrowser) {
	const token = "ui-test-token-0123456789abcdef"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "regapi.yaml")
	if err := os.WriteFile(cfg, []byte(`tokens: [{name: web, secret_env: UI_TEST_TOKEN, scopes: [{registry: demo, repositories: ["shop/web"], actions: [pull]}]}]`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startRun(t, map[string]string{"UI_TEST_TOKEN": token}, "--listen", "127.0.0.1:0", "--demo", "--config", cfg, "--log-level", "warn")

	p := b.newPage(t)
	p.open(srv.base + "/ui/")
	var problem struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	resp, err := http.Get(srv.base + "/api/v1/registries")
	if err != nil {
		t.Fatal(err)
	}
	derr := json.NewDecoder(resp.Body).Decode(&problem)
	resp.Body.Close()
	if derr != nil {
		t.Fatalf("decode the problem: %v", derr)
	}
	if resp.StatusCode != http.StatusUnauthorized || problem.Title == "" {
		t.Fatalf("GET /api/v1/registries without a token = %d %+v, want a 401 problem", resp.StatusCode, problem)
	}
	p.wantText(`.problem[data-status="401"] .problem-title`, problem.Title)
	p.wantText(`.problem[data-status="401"] .problem-detail`, problem.Detail)
	p.do("token field", chromedp.WaitVisible(chromedp.CSS("#problem-token-input")))
	p.shot("10-token-401")

	p.do("give the token",
		chromedp.SendKeys(chromedp.CSS("#problem-token-input"), token),
		chromedp.Click(chromedp.CSS("#problem-token-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#view[data-view=registries][data-state=ready] #registries`)))
	p.wantText("#registries tbody td:first-child", "demo")
	if got := p.text("#view .api-call pre.curl"); got != `curl -s -H "Authorization: Bearer $TOKEN" '`+srv.base+`/api/v1/registries'` {
		t.Errorf("curl line with a token = %q, want it to name $TOKEN", got)
	}

	// Only what the token may pull.
	p.click(`#registries a`, "/ui/repos/demo")
	if got := p.texts("#tree-table tbody td:first-child"); !cmp.Equal(got, []string{"shop/"}) {
		t.Errorf("tree with a shop/web token = %q, want [shop/]", got)
	}
	p.click(`#tree-table a`, "/ui/repos/demo/shop")
	p.click(`#tree-table a`, "/ui/repos/demo/shop/web")
	if got := p.texts("#images-table tbody td:first-child"); len(got) < 5 {
		t.Errorf("shop/web's table with its token = %q, want its tags", got)
	}
	// A download carries the token (fetched, then saved from memory).
	p.open(srv.base + "/ui/repos/demo/shop/web/-/files/v2.0.0/web")
	req, _ := http.NewRequest(http.MethodGet, srv.base+"/api/v1/repos/demo/shop/web/-/files/v2.0.0/web", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	want, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := p.download(chromedp.Click(chromedp.CSS("button#download-file"))); resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
		t.Errorf("downloaded web with the token = %q, want the API's %d %q", got, resp.StatusCode, want)
	}

	p.open(srv.base + "/ui/repos/demo/library/alpine")
	req, _ = http.NewRequest(http.MethodGet, srv.base+"/api/v1/repos/demo/library/alpine/-/images", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	derr = json.NewDecoder(resp.Body).Decode(&problem)
	resp.Body.Close()
	if derr != nil {
		t.Fatalf("decode the problem: %v", derr)
	}
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("GET library/alpine's table with a shop/web token = %d, want 403", resp.StatusCode)
	}
	p.wantText(`.problem[data-status="403"] .problem-title`, problem.Title)
	if n := len(p.texts(".problem")); n != 1 {
		t.Errorf("%d problem boxes for one refusal, want 1", n)
	}
	p.shot("11-token-403")

	// Kept in this tab's session storage only: no cookie, no local
	// storage, never in the page's text or a URL.
	state := pageRun(p, "token storage", chromedp.Evaluate[string](
		`JSON.stringify([sessionStorage.getItem('regapi.token') === `+jsString(token)+`, localStorage.length, document.cookie, document.body.innerText.includes(`+jsString(token)+`), location.href.includes(`+jsString(token)+`)])`))
	if state != `[true,0,"",false,false]` {
		t.Errorf("[in sessionStorage, localStorage entries, cookies, in page text, in URL] = %s, want [true,0,\"\",false,false]", state)
	}

	// Forgetting the token: back to the 401.
	p.do("forget the token",
		chromedp.Click(chromedp.CSS("#access-forget")),
		chromedp.WaitVisible(chromedp.CSS(`#view[data-state=error] .problem[data-status="401"]`)))
	if got := pageRun(p, "token storage", chromedp.Evaluate[string](`String(sessionStorage.getItem('regapi.token'))`)); got != "null" {
		t.Errorf("session storage holds %q after Forget, want nothing", got)
	}
	p.noConsoleErrors("401", "403")
}
