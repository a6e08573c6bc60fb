package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium, headless, through the
// DevTools protocol: the UI's pages as a person sees them, its scripts run
// by a real engine under the real Content-Security-Policy.

// chromiumBinary is the browser's name on PATH (Debian's package
// "chromium"; scripts/test installs it).
const chromiumBinary = "chromium"

// pageTimeout bounds one test page: every wait in it fails after this.
const pageTimeout = 60 * time.Second

// testBrowser is one chromium process shared by the subtests of a test;
// each page is a tab of it.
type testBrowser struct {
	ctx       context.Context
	downloads string
	shots     string
}

// startBrowser starts chromium headless, or fails the test with what to
// install: a missing browser is a broken setup, not a reason to skip.
func startBrowser(t *testing.T) *testBrowser {
	t.Helper()
	path, err := exec.LookPath(chromiumBinary)
	if err != nil {
		t.Fatalf("%s not found on PATH (%v): install chromium (scripts/test does it: apt-get install -y --no-install-recommends chromium)", chromiumBinary, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.DisableGPU,
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start its sandbox as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Started without a timeout: a timeout here would end the browser.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	b := &testBrowser{ctx: ctx, downloads: t.TempDir(), shots: screenshotDir(t)}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: b.downloads, EventsEnabled: ptrTo(true),
	}); err != nil {
		t.Fatalf("set download behavior: %v", err)
	}
	return b
}

func ptrTo[T any](v T) *T { return &v }

// screenshotDir is $REGAPI_SCREENSHOTS, or ui-screenshots at the module
// root (gitignored): CI keeps it as an artifact.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("REGAPI_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "ui-screenshots")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil { //nolint:gosec // G703: the path is the developer's own choice
		t.Fatalf("screenshots: %v", err)
	}
	return dir
}

// testPage is one tab, with everything its console said.
type testPage struct {
	t   *testing.T
	b   *testBrowser
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// newPage opens a tab whose console is recorded from the start.
func (b *testBrowser) newPage(t *testing.T) *testPage {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	p := &testPage{t: t, b: b, ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	return p
}

// do runs steps within pageTimeout, failing the test with what was being
// done.
func (p *testPage) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, pageTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v\nconsole: %v\npage: %s", what, err, p.messages(), p.state())
	}
}

// state describes the page for a failure message: its URL and what the
// view says about itself, and writes a screenshot of it.
func (p *testPage) state() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`location.href + ' ' + JSON.stringify(Object.assign({}, (document.getElementById('view') || {dataset: {}}).dataset)) + ' ' + document.body.innerText.slice(0, 600)`))
	if err != nil {
		return err.Error()
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		if err := os.WriteFile(filepath.Join(p.b.shots, "FAILED-"+strings.ReplaceAll(p.t.Name(), "/", "-")+".png"), png, 0o600); err != nil {
			p.t.Logf("save the failure's screenshot: %v", err)
		}
	}
	return s
}

// run runs one action that returns a value.
func pageRun[T any](p *testPage, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, pageTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatalf("%s: %v\nconsole: %v", what, err, p.messages())
	}
	return v
}

// open navigates to url and waits until the view says it is done.
func (p *testPage) open(url string) {
	p.t.Helper()
	p.do("open "+url, chromedp.Navigate(url), waitView())
}

// waitView waits for the current view to finish loading, well or not.
func waitView() chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(`#view[data-state=ready], #view[data-state=error]`))
}

// click clicks sel and waits for the view of path (with its query) to
// finish loading.
func (p *testPage) click(sel string, path string) {
	p.t.Helper()
	p.do("click "+sel,
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Click(chromedp.CSS(sel)),
		waitPath(path))
}

// void drops an action's value.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// text returns the visible text of the first element sel matches.
func (p *testPage) text(sel string) string {
	p.t.Helper()
	p.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	return strings.TrimSpace(pageRun(p, "text of "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// texts returns the text of every element sel matches, in order.
func (p *testPage) texts(sel string) []string {
	p.t.Helper()
	return pageRun(p, "texts of "+sel, chromedp.Evaluate[[]string](
		fmt.Sprintf(`Array.from(document.querySelectorAll(%q), (e) => e.textContent.trim())`, sel)))
}

// wantText fails unless the element sel matches shows want.
func (p *testPage) wantText(sel, want string) {
	p.t.Helper()
	if got := p.text(sel); got != want {
		p.t.Errorf("text of %s = %q, want %q", sel, got, want)
	}
}

// shot writes a full-page PNG of what the tab shows as name.png.
func (p *testPage) shot(name string) {
	p.t.Helper()
	png := pageRun(p, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(p.b.shots, name+".png"), png, 0o600); err != nil {
		p.t.Errorf("write screenshot: %v", err)
	}
}

// messages returns what the console said so far.
func (p *testPage) messages() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.console))
	for _, m := range p.console {
		out = append(out, fmt.Sprintf("%s [%s] %s", m.Type, m.Source, m.Text))
	}
	return out
}

// noConsoleErrors fails for every error or exception the page reported,
// except network errors whose text contains one of allowed (such as a 401
// the test provoked). Console messages arrive asynchronously; a round trip
// to the page first lets the ones already sent reach the recorder.
func (p *testPage) noConsoleErrors(allowed ...string) {
	p.t.Helper()
	pageRun(p, "sync with the page", chromedp.Evaluate[bool](`true`))
	p.mu.Lock()
	defer p.mu.Unlock()
next:
	for _, m := range p.console {
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
			continue
		}
		for _, a := range allowed {
			if m.Source == "network" && strings.Contains(m.Text, a) {
				continue next
			}
		}
		p.t.Errorf("browser console: %s [%s] %s (%s:%d)", m.Type, m.Source, m.Text, m.URL, m.Line)
	}
}

// download runs trigger and returns the downloaded file's bytes once the
// browser says the download completed.
func (p *testPage) download(trigger chromedp.Action[chromedp.Void]) []byte {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.b.ctx, pageTimeout)
	defer cancel()
	events := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	p.do("start download", trigger)
	for ev, err := range events {
		if err != nil {
			p.t.Fatalf("download: %v", err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			b, err := os.ReadFile(filepath.Join(p.b.downloads, ev.GUID))
			if err != nil {
				p.t.Fatalf("read download: %v", err)
			}
			return b
		case browser.DownloadProgressStateCanceled:
			p.t.Fatalf("download %s canceled", ev.GUID)
		}
	}
	p.t.Fatal("download: no completion event")
	return nil
}
