package handlers

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestFrontDoor: GET / and GET /api/v1 answer JSON for curl and HTML for
// a browser, both linking the registries and the contract, without a token.
func TestFrontDoor(t *testing.T) {
	a := newAPI(t, Config{Upstreams: []Upstream{}})
	for _, path := range []string{"/", "/api/v1"} {
		res := a.do(t, http.MethodGet, path, http.Header{"Accept": {"*/*"}, "Authorization": nil})
		if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s (curl) = %d %s", path, res.Status, res.Header.Get("Content-Type"))
		}
		var door indexResponse
		if err := json.Unmarshal(res.Body, &door); err != nil {
			t.Fatal(err)
		}
		hrefs := map[string]bool{}
		for _, l := range door.Links {
			hrefs[l.Href] = true
		}
		if !hrefs["/api/v1/registries"] || !hrefs["/openapi.yaml"] {
			t.Errorf("GET %s links %v, want the registries and the contract", path, door.Links)
		}
		if hrefs["/ui/"] {
			t.Errorf("GET %s links the UI, which this server does not serve", path)
		}

		browser := http.Header{"Accept": {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, "Authorization": nil}
		res = a.do(t, http.MethodGet, path, browser)
		if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s (browser) = %d %s", path, res.Status, res.Header.Get("Content-Type"))
		}
		for _, want := range []string{`href="/api/v1/registries"`, `href="/openapi.yaml"`} {
			if !strings.Contains(string(res.Body), want) {
				t.Errorf("GET %s (browser) lacks %s", path, want)
			}
		}
		if !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("GET %s (browser): CSP %q", path, res.Header.Get("Content-Security-Policy"))
		}
	}
}

// TestFrontDoorLinksUI: with the UI on, the front door links it first.
func TestFrontDoorLinksUI(t *testing.T) {
	a := newAPI(t, Config{Upstreams: []Upstream{}, UI: http.NotFoundHandler()})
	res := a.do(t, http.MethodGet, "/", http.Header{"Accept": {"text/html"}, "Authorization": nil})
	if !strings.Contains(string(res.Body), `href="/ui/"`) {
		t.Errorf("front door with the UI on does not link /ui/: %s", res.Body)
	}
}
