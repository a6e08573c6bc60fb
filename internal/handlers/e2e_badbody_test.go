package handlers

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// faultProxy sits between regapi and a real registry and spoils the bodies
// of the responses whose path matches a rule: cut short (the declared
// length, half the bytes, then the connection drops) or altered (one byte
// flipped, the length kept: in the middle, or near the end); or it answers
// a status of its own ("500", "429"), with an error body naming the
// registry's address, after the registry was asked (its log counts the
// request). Faults a real registry cannot be made to show.
type faultProxy struct {
	target string

	mu    sync.Mutex
	rules map[string]string // ["HEAD "] path substring → "cut", "flip", "flip-end", "type=<Content-Type>" or a status; GET without a method
}

func (p *faultProxy) set(substr, fault string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if fault == "" {
		delete(p.rules, substr)
		return
	}
	p.rules[substr] = fault
}

func (p *faultProxy) fault(method, path string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for s, f := range p.rules {
		m, sub, ok := strings.Cut(s, " ")
		if !ok {
			m, sub = http.MethodGet, s
		}
		if m == method && strings.Contains(path, sub) {
			return f
		}
	}
	return ""
}

// forward sends r, as it came, to the registry at target and returns its
// answer with the body read whole. A registry that cannot be reached is
// answered 502 here, and the answer's Status is 0.
func forward(w http.ResponseWriter, r *http.Request, target string) (response, error) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+target+r.URL.RequestURI(), nil)
	if err != nil {
		panic(err)
	}
	out.Header = r.Header.Clone()
	res, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return response{}, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: body}, err
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, err := forward(w, r, p.target)
	if res.Status == 0 {
		return
	}
	if err != nil {
		panic(err)
	}
	fault := p.fault(r.Method, r.URL.Path)
	if status, err := strconv.Atoi(fault); err == nil {
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"errors":[{"code":"UNKNOWN","message":"fault %d at http://%s"}]}`, status, p.target)
		return
	}
	for k, vs := range res.Header {
		w.Header()[k] = vs
	}
	if ct, ok := strings.CutPrefix(fault, "type="); ok {
		w.Header().Set("Content-Type", ct)
	}
	if r.Method != http.MethodGet || res.Status != http.StatusOK {
		fault = ""
	}
	switch fault {
	case "flip":
		res.Body[len(res.Body)/2] ^= 0x01
	case "flip-end":
		// In a gzip blob, the trailer's CRC: the tar decompresses whole
		// and only the checks at the end fail.
		res.Body[len(res.Body)-5] ^= 0x01
	case "cut":
		w.Header().Set("Content-Length", strconv.Itoa(len(res.Body)))
		w.WriteHeader(res.Status)
		w.Write(res.Body[:len(res.Body)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection drops mid-body
	}
	w.WriteHeader(res.Status)
	w.Write(res.Body)
}

// newFaultAPI puts a faultProxy in front of the registry at target and
// regapi in front of the proxy, as upstream "f".
func newFaultAPI(t *testing.T, target string) (*faultProxy, *apiEnv) {
	t.Helper()
	proxy := &faultProxy{target: target, rules: map[string]string{}}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	host := strings.TrimPrefix(front.URL, "http://")
	return proxy, newAPI(t, Config{Upstreams: []Upstream{{Name: "f", Host: host, Client: clientFor(host, nil)}}})
}

// TestBadUpstreamBodyIsBadGateway: a body the upstream cut short or whose
// bytes do not match their digest is the upstream's fault: 502
// UPSTREAM_INVALID, for manifests, configs and tag pages, never cached (the
// same request answers once the upstream behaves).
func TestBadUpstreamBodyIsBadGateway(t *testing.T) {
	dist := registrytest.StartDistribution(t, nil)
	img := registrytest.PushRandomImage(t, dist.Host, "bad/app", "v1")
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	top, err := layers[len(layers)-1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	// A second image for the second layer case: once the first is read
	// whole, its file index answers listings without touching a layer.
	img2 := registrytest.PushRandomImage(t, dist.Host, "bad/app2", "v1")
	layers2, err := img2.Layers()
	if err != nil {
		t.Fatal(err)
	}
	top2, err := layers2[len(layers2)-1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	proxy, a := newFaultAPI(t, dist.Host)

	tests := []struct {
		name, rule, fault, path string
	}{
		{"manifest cut short", "/manifests/", "cut", "/api/v1/repos/f/bad/app/-/manifests/v1"},
		{"manifest not its digest", "/manifests/", "flip", "/api/v1/repos/f/bad/app/-/manifests/" + digest.String()},
		{"config cut short", "/blobs/" + cfg.String(), "cut", "/api/v1/repos/f/bad/app/-/config/v1"},
		{"config not its digest", "/blobs/" + cfg.String(), "flip", "/api/v1/repos/f/bad/app/-/config/v1"},
		{"tags page cut short", "/tags/list", "cut", "/api/v1/repos/f/bad/app/-/tags"},
		{"layer cut short", "/blobs/" + top.String(), "cut", "/api/v1/repos/f/bad/app/-/files/v1/"},
		{"layer not its digest", "/blobs/" + top2.String(), "flip-end", "/api/v1/repos/f/bad/app2/-/files/v1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy.set(tt.rule, tt.fault)
			a.get(t, tt.path).problem(t, http.StatusBadGateway, "UPSTREAM_INVALID")
			proxy.set(tt.rule, "")
			if res := a.get(t, tt.path); res.Status != http.StatusOK {
				t.Errorf("once the upstream behaves: %d %s (a bad answer was cached?)", res.Status, res.Body)
			}
		})
	}
}

// TestUpstreamContentTypeNeverAPage: an upstream that labels a manifest or
// a config text/html (or SVG) cannot make a browser run it as a page of
// regapi's origin, where the UI keeps a token: the raw bytes go out as
// application/octet-stream (a config as application/json), never sniffed,
// and sandboxed if opened.
func TestUpstreamContentTypeNeverAPage(t *testing.T) {
	dist := registrytest.StartDistribution(t, nil)
	img := registrytest.PushRandomImage(t, dist.Host, "evil/app", "v1")
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	proxy, a := newFaultAPI(t, dist.Host)

	for _, tc := range []struct {
		label, path, want string
	}{
		{"text/html", "/api/v1/repos/f/evil/app/-/manifests/" + digest.String() + "?raw=true", "application/octet-stream"},
		{"image/svg+xml", "/api/v1/repos/f/evil/app/-/manifests/v1?raw=true", "application/octet-stream"},
		{"application/xhtml+xml", "/api/v1/repos/f/evil/app/-/manifests/v1?raw=true", "application/octet-stream"},
	} {
		t.Run(tc.label, func(t *testing.T) {
			proxy.set("/manifests/", "type="+tc.label)
			defer proxy.set("/manifests/", "")
			res := a.do(t, http.MethodGet, tc.path, nil)
			if res.Status != http.StatusOK {
				t.Fatalf("GET %s = %d %s", tc.path, res.Status, res.Body)
			}
			h := res.Header
			if got := h.Get("Content-Type"); got != tc.want {
				t.Errorf("Content-Type = %q for an upstream's %q, want %q", got, tc.label, tc.want)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != "sandbox" {
				t.Errorf("headers = %v, want nosniff and a sandbox", h)
			}
		})
	}
	// A manifest's own JSON type goes through as it is.
	res := a.do(t, http.MethodGet, "/api/v1/repos/f/evil/app/-/manifests/v1?raw=true", nil)
	if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/vnd.") || !strings.HasSuffix(got, "+json") {
		t.Errorf("Content-Type of a plain manifest = %q, want its media type", got)
	}
}
