package handlers

import (
	"net/http"
	"testing"
)

// headerSame are the headers a HEAD answer must share with GET's.
var headerSame = []string{
	"Content-Type", "Content-Length", "ETag", "Cache-Control", "X-Cache", "Link",
	platformHeader, resolvedPathHeader, "Docker-Content-Digest", "Allow",
}

// TestHeadEveryGet: every GET route answers HEAD with the same status and
// headers and no body; extract answers it without reading a layer.
func TestHeadEveryGet(t *testing.T) {
	a := newReadsAPI(t, Reads{})
	paths := []string{
		"/",
		"/api/v1",
		"/healthz",
		"/readyz",
		"/openapi.yaml",
		"/api/v1/registries",
		"/api/v1/repos/g/-/repositories",
		"/api/v1/repos/g/reads/-/repositories?delimiter=/",
		"/api/v1/repos/g/reads/img/-/tags",
		"/api/v1/repos/g/reads/img/-/manifests/v1",
		"/api/v1/repos/g/reads/img/-/digest/v1",
		"/api/v1/repos/g/reads/img/-/config/v1?platform=linux/arm64",
		"/api/v1/repos/g/reads/img/-/extract/v1",
		"/api/v1/repos/g/reads/img/-/files/v1/etc/os-release",
		"/api/v1/repos/g/reads/img/-/files/v1/etc",
		"/api/v1/repos/g/reads/img/-/images",
		"/api/v1/repos/g/reads/img/-/images/v1",
		"/api/v1/repos/g/reads/img/-/referrers/v1",
		"/api/v1/repos/g/reads/nope/-/tags",                 // an error
		"/api/v1/repos/g/reads/img/-/files/v1/no/such/file", // an error after the layers
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			get := a.get(t, p)
			before := a.g.totalGets()
			head := a.do(t, http.MethodHead, p, nil)
			if head.Status != get.Status {
				t.Errorf("HEAD = %d, GET = %d", head.Status, get.Status)
			}
			if len(head.Body) != 0 {
				t.Errorf("HEAD sent a body of %d bytes", len(head.Body))
			}
			for _, h := range headerSame {
				if g, hd := get.Header.Get(h), head.Header.Get(h); g != hd {
					t.Errorf("%s: GET %q, HEAD %q", h, g, hd)
				}
			}
			if p == "/api/v1/repos/g/reads/img/-/extract/v1" {
				if n := a.g.totalGets() - before; n != 0 {
					t.Errorf("HEAD of extract made %d blob GETs upstream, want 0", n)
				}
			}
		})
	}
}
