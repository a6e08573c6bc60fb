package ui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, method, path string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

// TestHandler checks what each kind of path answers.
func TestHandler(t *testing.T) {
	tests := []struct {
		method, path string
		status       int
		contentType  string
		bodyHas      string
	}{
		{http.MethodGet, "/ui/", 200, "text/html; charset=utf-8", `<script type="module" src="/ui/assets/js/app.js">`},
		{http.MethodGet, "/ui/repos/demo/library/alpine", 200, "text/html; charset=utf-8", `<main id="main"`},
		{http.MethodGet, "/ui/repos/demo/library/alpine/-/files/3.20/etc/os-release", 200, "text/html; charset=utf-8", `<main id="main"`},
		{http.MethodGet, "/ui/assets/js/app.js", 200, "text/javascript; charset=utf-8", "import "},
		{http.MethodGet, "/ui/assets/app.css", 200, "text/css; charset=utf-8", ":root"},
		{http.MethodGet, "/ui/assets/favicon.svg", 200, "image/svg+xml", "<svg"},
		{http.MethodHead, "/ui/assets/js/app.js", 200, "text/javascript; charset=utf-8", ""},
		{http.MethodGet, "/ui/assets/nope.js", 404, "text/plain; charset=utf-8", "no such asset"},
		{http.MethodGet, "/ui/assets/js/../../../ui.go", 404, "text/plain; charset=utf-8", ""},
		{http.MethodGet, "/ui", 301, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := serve(t, tt.method, tt.path, nil)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.status)
			}
			if tt.contentType != "" && res.Header.Get("Content-Type") != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", res.Header.Get("Content-Type"), tt.contentType)
			}
			if !strings.Contains(string(body), tt.bodyHas) {
				t.Errorf("body lacks %q: %.200s", tt.bodyHas, body)
			}
			if tt.method == http.MethodHead && len(body) != 0 {
				t.Errorf("HEAD body has %d bytes, want none", len(body))
			}
			if tt.status == 301 && res.Header.Get("Location") != "/ui/" {
				t.Errorf("Location = %q, want /ui/", res.Header.Get("Location"))
			}
			// Every answer, errors and redirects included, carries the
			// headers that keep it out of frames and its scripts strict.
			want := map[string]string{
				"Content-Security-Policy": contentSecurityPolicy,
				"X-Frame-Options":         "DENY",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
			}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestContentSecurityPolicy pins the policy's essentials: scripts only
// from the UI's own files (no inline script, no eval), no framing, no
// <base>, no plugins.
func TestContentSecurityPolicy(t *testing.T) {
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(contentSecurityPolicy, d+";") && !strings.HasSuffix(contentSecurityPolicy, d) {
			t.Errorf("Content-Security-Policy lacks %q: %s", d, contentSecurityPolicy)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "data:", "http:", "https:"} {
		if strings.Contains(contentSecurityPolicy, bad) {
			t.Errorf("Content-Security-Policy allows %q: %s", bad, contentSecurityPolicy)
		}
	}
}

// TestRevalidation answers a matching If-None-Match with 304.
func TestRevalidation(t *testing.T) {
	res := serve(t, http.MethodGet, "/ui/assets/js/app.js", nil)
	etag := res.Header.Get("ETag")
	if etag == "" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag = %q, Cache-Control = %q; want an ETag and no-cache", etag, res.Header.Get("Cache-Control"))
	}
	res = serve(t, http.MethodGet, "/ui/assets/js/app.js", http.Header{"If-None-Match": {etag}})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation status = %d, want 304", res.StatusCode)
	}
}

// htmlSinks are the DOM calls that parse a string as markup or code. The
// UI puts registry content in the page with textContent and
// createElement only; none of these may appear in its scripts.
var htmlSinks = regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(\s*['"]|createContextualFragment|\.srcdoc|DOMParser`)

// TestNoHTMLSinks checks the scripts for ways to turn data into markup:
// the Content-Security-Policy stops scripts, this keeps markup out too.
func TestNoHTMLSinks(t *testing.T) {
	n := 0
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		n++
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			if m := htmlSinks.FindString(line); m != "" {
				t.Errorf("%s:%d uses %s: %s", p, i+1, m, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("found %d scripts, want the UI's modules", n)
	}
}

// TestNoInlineScriptOrStyle checks index.html for what the policy would
// block: inline scripts, style attributes and <style> elements.
func TestNoInlineScriptOrStyle(t *testing.T) {
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{`<script(?:\s+type="module")?>`, `\sstyle=`, `<style`, `\son[a-z]+=`} {
		if regexp.MustCompile(re).Match(b) {
			t.Errorf("index.html matches %s", re)
		}
	}
}

// TestHTMLSinksPattern keeps TestNoHTMLSinks able to fail.
func TestHTMLSinksPattern(t *testing.T) {
	for _, s := range []string{"el.innerHTML = x", "p.insertAdjacentHTML('beforeend', s)", "eval(s)", "new Function(s)", "document.write(s)"} {
		if !htmlSinks.MatchString(s) {
			t.Errorf("htmlSinks misses %q", s)
		}
	}
	for _, s := range []string{"el.textContent = x", "document.createElement('a')"} {
		if htmlSinks.MatchString(s) {
			t.Errorf("htmlSinks matches harmless %q", s)
		}
	}
}
