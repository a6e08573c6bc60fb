package handlers

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// corsSafelisted are the response headers every browser script may read
// without Access-Control-Expose-Headers (Fetch standard), and Connection,
// which no script ever sees.
var corsSafelisted = map[string]bool{
	"Cache-Control": true, "Content-Language": true, "Content-Length": true, "Content-Type": true,
	"Expires": true, "Last-Modified": true, "Pragma": true, "Connection": true,
}

// specHeaders returns every response header api/openapi.yaml documents.
func specHeaders(t *testing.T) map[string]bool {
	t.Helper()
	doc := loadSpec(t)
	names := map[string]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, res := range op.Responses.Map() {
				if res.Value == nil {
					continue
				}
				for name := range res.Value.Headers {
					names[http.CanonicalHeaderKey(name)] = true
				}
			}
		}
	}
	return names
}

// TestCORSExposesSpecHeaders: a dashboard on an allowed origin can read
// every header the API documents, from a real cross-origin answer.
func TestCORSExposesSpecHeaders(t *testing.T) {
	exposed := map[string]bool{}
	for _, h := range auth.CORSExposedHeaders() {
		exposed[http.CanonicalHeaderKey(h)] = true
	}
	documented := specHeaders(t)
	for name := range documented {
		if !corsSafelisted[name] && !exposed[name] {
			t.Errorf("api/openapi.yaml documents %s, but CORS does not expose it", name)
		}
	}

	g := startGated(t)
	registrytest.Push(t, g.Host+"/reads/img:v1", readsIndex(t))
	a := newAPI(t, Config{
		Upstreams:   []Upstream{{Name: "g", Host: g.Host, Client: clientFor(g.Host, nil)}},
		CORSOrigins: []string{"https://dash.example.com"},
	})
	for _, path := range []string{
		"/api/v1/repos/g/reads/img/-/files/v1/osr",
		"/api/v1/repos/g/reads/img/-/manifests/v1",
		"/api/v1/repos/g/reads/img/-/tags?limit=1",
	} {
		h := http.Header{"Origin": {"https://dash.example.com"}}
		res := a.do(t, http.MethodGet, path, h)
		if res.Status != http.StatusOK {
			t.Fatalf("GET %s = %d", path, res.Status)
		}
		list := strings.Split(res.Header.Get("Access-Control-Expose-Headers"), ",")
		for i := range list {
			list[i] = http.CanonicalHeaderKey(strings.TrimSpace(list[i]))
		}
		for name := range res.Header {
			if documented[name] && !corsSafelisted[name] && !slices.Contains(list, name) {
				t.Errorf("GET %s: %s is in the answer but not in Access-Control-Expose-Headers %q", path, name, list)
			}
		}
	}
}
