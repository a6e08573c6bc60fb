package handlers

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regapi/regapi/api"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// world is regapi in front of a distribution registry ("dist") and a
// go-containerregistry registry ("ggcr"), both seeded alike.
type world struct {
	api  *apiEnv
	regs map[string]*registrytest.Registry
	fx   map[string]fixture
}

// upstreamNames are the upstreams of a world, in configuration order.
var upstreamNames = []string{"dist", "ggcr"}

func newWorld(t *testing.T, adjust func(*Config)) *world {
	t.Helper()
	w := &world{
		regs: map[string]*registrytest.Registry{
			"dist": registrytest.StartDistribution(t, nil),
			"ggcr": registrytest.StartGGCR(t, false),
		},
		fx: map[string]fixture{},
	}
	var cfg Config
	for _, name := range upstreamNames {
		host := w.regs[name].Host
		w.fx[name] = seed(t, host)
		cfg.Upstreams = append(cfg.Upstreams, Upstream{Name: name, Host: host, Client: clientFor(host, nil)})
	}
	if adjust != nil {
		adjust(&cfg)
	}
	w.api = newAPI(t, cfg)
	return w
}

func TestEndToEnd(t *testing.T) {
	w := newWorld(t, nil)
	for _, up := range upstreamNames {
		t.Run(up, func(t *testing.T) {
			fx := w.fx[up]
			t.Run("tags pagination", func(t *testing.T) { testTagsPagination(t, w.api, up) })
			t.Run("repositories", func(t *testing.T) { testRepositories(t, w.api, up) })
			t.Run("manifests", func(t *testing.T) { testManifests(t, w.api, up, fx, w.regs[up]) })
			t.Run("multi-arch", func(t *testing.T) { testMultiArch(t, w.api, up, fx) })
			t.Run("extract whiteouts", func(t *testing.T) { testExtractWhiteouts(t, w.api, up) })
			t.Run("docker media types", func(t *testing.T) { testDockerMediaTypes(t, w.api, up, fx) })
			t.Run("not found", func(t *testing.T) { testNotFound(t, w.api, up) })
		})
	}
	t.Run("registries", func(t *testing.T) {
		var got registriesResponse
		w.api.get(t, "/api/v1/registries").json(t, &got)
		want := registriesResponse{Registries: []registryInfo{
			{Name: "dist", Host: w.regs["dist"].Host}, {Name: "ggcr", Host: w.regs["ggcr"].Host},
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GET /api/v1/registries mismatch (-want +got):\n%s", diff)
		}
	})
}

func testTagsPagination(t *testing.T, a *apiEnv, up string) {
	want := []string{"latest"}
	for i := range alpineTags {
		want = append(want, "t"+twoDigits(i))
	}
	sort.Strings(want)

	var got []string
	next := "/api/v1/repos/" + up + "/library/alpine/-/tags?limit=10"
	pages := 0
	for next != "" {
		res := a.get(t, next)
		if res.Status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", next, res.Status, res.Body)
		}
		var page tagsResponse
		res.json(t, &page)
		if page.Registry != up || page.Repository != "library/alpine" {
			t.Errorf("page names %s/%s, want %s/library/alpine", page.Registry, page.Repository, up)
		}
		if len(page.Tags) > 10 {
			t.Errorf("page has %d tags, want at most 10", len(page.Tags))
		}
		if page.Next != "" && !strings.Contains(string(res.Body), `&limit=10"`) {
			// JSON answers are not HTML-escaped: a next link reads as it
			// is sent, "…?last=x&limit=10", not "\u0026limit=10".
			t.Errorf("next link escaped in the body: %s", res.Body)
		}
		link := res.Header.Get("Link")
		if page.Next == "" && link != "" || page.Next != "" && link != "<"+page.Next+`>; rel="next"` {
			t.Errorf("Link = %q with next %q", link, page.Next)
		}
		if res.Header.Get("ETag") == "" || res.Header.Get("Cache-Control") != cacheControlShort {
			t.Errorf("headers ETag %q Cache-Control %q, want a content ETag and %s", res.Header.Get("ETag"), res.Header.Get("Cache-Control"), cacheControlShort)
		}
		got = append(got, page.Tags...)
		next = page.Next
		if pages++; pages > 5 {
			t.Fatalf("more than 5 pages of 10 for %d tags", len(want))
		}
	}
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tags over all pages mismatch (-want +got):\n%s", diff)
	}

	var all tagsResponse
	a.get(t, "/api/v1/repos/"+up+"/library/alpine/-/tags").json(t, &all)
	if diff := cmp.Diff(want, all.Tags); diff != "" || all.Next != "" {
		t.Errorf("default page (limit 100) mismatch, next %q (-want +got):\n%s", all.Next, diff)
	}
	// A limit above the maximum is clamped, not refused.
	if res := a.get(t, "/api/v1/repos/"+up+"/library/alpine/-/tags?limit=5000"); res.Status != http.StatusOK {
		t.Errorf("limit=5000 = %d, want 200 (clamped)", res.Status)
	}
}

func twoDigits(i int) string { return fmt.Sprintf("%02d", i) }

func testRepositories(t *testing.T, a *apiEnv, up string) {
	base := "/api/v1/repos/" + up
	list := func(path string) repositoriesResponse {
		t.Helper()
		res := a.get(t, path)
		if res.Status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, res.Status, res.Body)
		}
		var r repositoriesResponse
		res.json(t, &r)
		return r
	}
	tests := []struct {
		path         string
		repositories []string
		prefixes     []string
	}{
		{base + "/-/repositories", repoNames, nil},
		{base + "/nested/-/repositories", []string{"nested/a/b/deep", "nested/a/c", "nested/top"}, nil},
		{base + "/nested/a/-/repositories", []string{"nested/a/b/deep", "nested/a/c"}, nil},
		{base + "/-/repositories?delimiter=/", []string{"solo"}, []string{"layers", "legacy", "library", "multi", "nested"}},
		{base + "/nested/-/repositories?delimiter=/", []string{"nested/top"}, []string{"nested/a"}},
		{base + "/nested/a/-/repositories?delimiter=%2F", []string{"nested/a/c"}, []string{"nested/a/b"}},
		{base + "/solo/-/repositories?delimiter=/", []string{}, []string{}},
	}
	for _, tt := range tests {
		got := list(tt.path)
		if diff := cmp.Diff(tt.repositories, got.Repositories); diff != "" {
			t.Errorf("GET %s repositories mismatch (-want +got):\n%s", tt.path, diff)
		}
		if diff := cmp.Diff(tt.prefixes, got.Prefixes); diff != "" {
			t.Errorf("GET %s prefixes mismatch (-want +got):\n%s", tt.path, diff)
		}
	}

	// Pagination: every page size walks to the same answer, with and
	// without delimiter.
	for _, q := range []string{"", "&delimiter=/"} {
		full := list(base + "/-/repositories?limit=1000" + q)
		for _, limit := range []string{"1", "2", "3", "4"} {
			var names, prefixes []string
			next := base + "/-/repositories?limit=" + limit + q
			for pages := 0; next != ""; pages++ {
				if pages > 20 {
					t.Fatalf("limit=%s%s: more than 20 pages", limit, q)
				}
				page := list(next)
				if n := len(page.Repositories) + len(page.Prefixes); n > int(limit[0]-'0') {
					t.Errorf("limit=%s%s: page has %d entries", limit, q, n)
				}
				names = append(names, page.Repositories...)
				prefixes = append(prefixes, page.Prefixes...)
				next = page.Next
			}
			if !slices.Equal(names, full.Repositories) || !slices.Equal(prefixes, full.Prefixes) {
				t.Errorf("limit=%s%s: pages give %v %v, want %v %v", limit, q, names, prefixes, full.Repositories, full.Prefixes)
			}
		}
	}
}

func testManifests(t *testing.T, a *apiEnv, up string, fx fixture, reg *registrytest.Registry) {
	base := "/api/v1/repos/" + up + "/library/alpine/-/manifests/"
	digest := must(fx.alpine.Digest()).String()
	raw := must(fx.alpine.RawManifest())
	mt := string(must(fx.alpine.MediaType()))

	for _, ref := range []string{"latest", digest, "@" + digest} {
		res := a.get(t, base+url.PathEscape(ref))
		if res.Status != http.StatusOK {
			t.Fatalf("GET manifests/%s = %d %s", ref, res.Status, res.Body)
		}
		var m manifestResponse
		res.json(t, &m)
		wantRef := strings.TrimPrefix(ref, "@")
		if m.Digest != digest || m.MediaType != mt || m.Size != int64(len(raw)) || m.Reference != wantRef || m.Repository != "library/alpine" {
			t.Errorf("GET manifests/%s = %+v, want digest %s, %s, size %d", ref, m, digest, mt, len(raw))
		}
		if !jsonEqual(t, m.Manifest, raw) {
			t.Errorf("GET manifests/%s manifest = %s, want %s", ref, m.Manifest, raw)
		}
		wantCC := cacheControlShort
		if ref != "latest" {
			wantCC = cacheControlImmutable
		}
		if res.Header.Get("Docker-Content-Digest") != digest || res.Header.Get("ETag") != `"`+digest+`"` || res.Header.Get("Cache-Control") != wantCC {
			t.Errorf("GET manifests/%s headers %v, want digest %s and Cache-Control %s", ref, res.Header, digest, wantCC)
		}
	}

	// raw=true: the bytes as served.
	res := a.get(t, base+"latest?raw=true")
	if res.Status != http.StatusOK || !bytes.Equal(res.Body, raw) || res.Header.Get("Content-Type") != mt {
		t.Errorf("raw=true = %d %s %q, want the %d bytes served as %s", res.Status, res.Header.Get("Content-Type"), res.Body, len(raw), mt)
	}

	// HEAD: existence.
	res = a.do(t, http.MethodHead, base+"latest", nil)
	if res.Status != http.StatusOK || len(res.Body) != 0 || res.Header.Get("Docker-Content-Digest") != digest {
		t.Errorf("HEAD latest = %d, %d bytes, digest %q; want 200, no body, %s", res.Status, len(res.Body), res.Header.Get("Docker-Content-Digest"), digest)
	}
	if res := a.do(t, http.MethodHead, base+"nope", nil); res.Status != http.StatusNotFound || len(res.Body) != 0 {
		t.Errorf("HEAD nope = %d with %d bytes, want 404 and no body", res.Status, len(res.Body))
	}

	// If-None-Match: 304 by tag (after the lookup) and by digest (without
	// any upstream traffic).
	etag := `"` + digest + `"`
	if res := a.do(t, http.MethodGet, base+"latest", http.Header{"If-None-Match": {etag}}); res.Status != http.StatusNotModified || len(res.Body) != 0 {
		t.Errorf("If-None-Match by tag = %d, want 304 and no body", res.Status)
	}
	before := len(reg.Requests())
	res = a.do(t, http.MethodGet, base+digest, http.Header{"If-None-Match": {`"other", ` + etag}})
	if res.Status != http.StatusNotModified || res.Header.Get("ETag") != etag || res.Header.Get("Cache-Control") != cacheControlImmutable {
		t.Errorf("If-None-Match by digest = %d %v, want 304 with ETag and immutable", res.Status, res.Header)
	}
	if after := len(reg.Requests()); after != before {
		t.Errorf("304 by digest made %d upstream requests, want 0", after-before)
	}

	// digest of a plain image.
	var d digestResponse
	res = a.get(t, "/api/v1/repos/"+up+"/library/alpine/-/digest/latest")
	res.json(t, &d)
	if d.Digest != digest || res.Header.Get(platformHeader) != "" {
		t.Errorf("digest/latest = %s (platform %q), want %s and no platform header", d.Digest, res.Header.Get(platformHeader), digest)
	}

	// config: byte-exact.
	res = a.get(t, "/api/v1/repos/"+up+"/library/alpine/-/config/latest")
	cfgRaw := must(fx.alpine.RawConfigFile())
	cfgDigest := must(fx.alpine.ConfigName()).String()
	if res.Status != http.StatusOK || !bytes.Equal(res.Body, cfgRaw) || res.Header.Get("ETag") != `"`+cfgDigest+`"` {
		t.Errorf("config/latest = %d ETag %s, %d bytes; want the %d config bytes tagged %s", res.Status, res.Header.Get("ETag"), len(res.Body), len(cfgRaw), cfgDigest)
	}
}

func testMultiArch(t *testing.T, a *apiEnv, up string, fx fixture) {
	base := "/api/v1/repos/" + up + "/multi/app/-/"
	indexDigest := must(fx.index.Digest()).String()

	// Without platform=, manifests answers the index itself.
	var m manifestResponse
	res := a.get(t, base+"manifests/v1")
	res.json(t, &m)
	if m.Digest != indexDigest || !strings.Contains(m.MediaType, "index") || res.Header.Get(platformHeader) != "" {
		t.Errorf("manifests/v1 = %s %s (platform %q), want the index %s", m.Digest, m.MediaType, res.Header.Get(platformHeader), indexDigest)
	}

	for _, p := range indexPlatforms {
		child := childOf(t, fx.index, p)
		img := must(fx.index.Image(child.Digest))
		ps := platformString(p)
		q := "?platform=" + ps

		res := a.get(t, base+"manifests/v1"+q)
		res.json(t, &m)
		if m.Digest != child.Digest.String() || m.Platform != ps || res.Header.Get(platformHeader) != ps {
			t.Errorf("manifests/v1%s = %s platform %q header %q, want %s", q, m.Digest, m.Platform, res.Header.Get(platformHeader), child.Digest)
		}
		var d digestResponse
		a.get(t, base+"digest/v1"+q).json(t, &d)
		if d.Digest != child.Digest.String() {
			t.Errorf("digest/v1%s = %s, want %s", q, d.Digest, child.Digest)
		}
		res = a.get(t, base+"config/v1"+q)
		if want := must(img.RawConfigFile()); !bytes.Equal(res.Body, want) {
			t.Errorf("config/v1%s = %d %.100s, want the child's config", q, res.Status, res.Body)
		}
		res = a.get(t, base+"extract/v1"+q)
		if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "application/x-tar" || res.Header.Get(platformHeader) != ps {
			t.Errorf("extract/v1%s = %d %s platform %q", q, res.Status, res.Header.Get("Content-Type"), res.Header.Get(platformHeader))
		}
		if n := len(tarFiles(t, res.Body)); n == 0 {
			t.Errorf("extract/v1%s has no files", q)
		}
	}

	// Without platform=, digest, config and extract use the default.
	amd := childOf(t, fx.index, indexPlatforms[0])
	var d digestResponse
	res = a.get(t, base+"digest/v1")
	res.json(t, &d)
	if d.Digest != amd.Digest.String() || res.Header.Get(platformHeader) != "linux/amd64" {
		t.Errorf("digest/v1 = %s header %q, want linux/amd64's %s", d.Digest, res.Header.Get(platformHeader), amd.Digest)
	}
	for _, action := range []string{"config", "extract"} {
		if res := a.get(t, base+action+"/v1"); res.Status != http.StatusOK || res.Header.Get(platformHeader) != "linux/amd64" {
			t.Errorf("%s/v1 = %d header %q, want 200 for linux/amd64", action, res.Status, res.Header.Get(platformHeader))
		}
	}
	// linux/arm64 finds arm64/v8; an index by digest works alike.
	a.get(t, base+"digest/@"+indexDigest+"?platform=linux/arm64").json(t, &d)
	if want := childOf(t, fx.index, indexPlatforms[1]).Digest.String(); d.Digest != want {
		t.Errorf("digest/@index?platform=linux/arm64 = %s, want %s", d.Digest, want)
	}

	// A platform the index lacks: 404 listing what it has.
	for _, action := range []string{"manifests", "digest", "config", "extract"} {
		p := a.get(t, base+action+"/v1?platform=linux/s390x").problem(t, http.StatusNotFound, "PLATFORM_UNKNOWN")
		if want := []string{"linux/amd64", "linux/arm64/v8", "linux/arm/v7"}; !slices.Equal(p.Platforms, want) {
			t.Errorf("%s PLATFORM_UNKNOWN platforms = %v, want %v", action, p.Platforms, want)
		}
	}
}

func testExtractWhiteouts(t *testing.T, a *apiEnv, up string) {
	res := a.get(t, "/api/v1/repos/"+up+"/layers/whiteout/-/extract/v1")
	if res.Status != http.StatusOK {
		t.Fatalf("extract = %d %s", res.Status, res.Body)
	}
	files := tarFiles(t, res.Body)
	want := map[string]string{"etc/b": "b", "dir/y": "y", "keep/k": "k"}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("extracted files mismatch (-want +got):\n%s", diff)
	}
	if res.Header.Get("Content-Length") != "" {
		t.Errorf("extract sent Content-Length %s, want a chunked stream", res.Header.Get("Content-Length"))
	}
}

// tarFiles reads a tar stream and returns its regular files' contents by
// name (without a leading "/" or "./").
func tarFiles(t *testing.T, b []byte) map[string]string {
	t.Helper()
	files := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		name := strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/")
		if strings.Contains(name, ".wh.") {
			t.Errorf("tar holds whiteout marker %s", h.Name)
		}
		if h.Typeflag == tar.TypeReg {
			files[name] = string(must(io.ReadAll(tr)))
		}
	}
}

func testDockerMediaTypes(t *testing.T, a *apiEnv, up string, fx fixture) {
	raw := must(fx.docker.RawManifest())
	res := a.get(t, "/api/v1/repos/"+up+"/legacy/img/-/manifests/v1?raw=1")
	if res.Header.Get("Content-Type") != "application/vnd.docker.distribution.manifest.v2+json" || !bytes.Equal(res.Body, raw) {
		t.Errorf("raw docker manifest = %s %.80s, want the Docker schema 2 bytes", res.Header.Get("Content-Type"), res.Body)
	}
	res = a.get(t, "/api/v1/repos/"+up+"/legacy/img/-/config/v1")
	if res.Header.Get("Content-Type") != "application/vnd.docker.container.image.v1+json" || !bytes.Equal(res.Body, must(fx.docker.RawConfigFile())) {
		t.Errorf("docker config = %s %.80s, want the Docker config bytes", res.Header.Get("Content-Type"), res.Body)
	}
}

func testNotFound(t *testing.T, a *apiEnv, up string) {
	base := "/api/v1/repos/" + up
	missingDigest := "sha256:" + strings.Repeat("0", 64)
	tests := []struct {
		path string
		code string
	}{
		{base + "/library/alpine/-/manifests/nope", "MANIFEST_UNKNOWN"},
		{base + "/library/alpine/-/manifests/" + missingDigest, "MANIFEST_UNKNOWN"},
		{base + "/library/alpine/-/digest/nope", "MANIFEST_UNKNOWN"},
		{base + "/library/alpine/-/config/nope", "MANIFEST_UNKNOWN"},
		{base + "/library/alpine/-/extract/nope", "MANIFEST_UNKNOWN"},
		{base + "/no/such/repo/-/tags", "NAME_UNKNOWN"},
	}
	for _, tt := range tests {
		a.get(t, tt.path).problem(t, http.StatusNotFound, tt.code)
	}
}

// jsonEqual reports whether two JSON documents are byte-equal once
// compacted (the envelope re-indents nothing, but be tolerant).
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	return bytes.Equal(bytes.TrimSpace(a), bytes.TrimSpace(b))
}

func TestOperationalRoutes(t *testing.T) {
	var ready atomic.Bool
	ready.Store(true)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		io.WriteString(w, "regapi_up 1\n")
	})
	a := newAPI(t, Config{Ready: ready.Load, Metrics: metrics})
	if res := a.get(t, "/metrics"); res.Status != http.StatusOK || string(res.Body) != "regapi_up 1\n" {
		t.Errorf("GET /metrics = %d %q, want the metrics handler's answer", res.Status, res.Body)
	}
	if res := a.get(t, "/healthz"); res.Status != http.StatusOK || res.Header.Get("Cache-Control") != cacheControlNone {
		t.Errorf("GET /healthz = %d %v", res.Status, res.Header)
	}
	if res := a.get(t, "/readyz"); res.Status != http.StatusOK {
		t.Errorf("GET /readyz = %d, want 200", res.Status)
	}
	ready.Store(false)
	if res := a.get(t, "/readyz"); res.Status != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz while not ready = %d, want 503", res.Status)
	}
	res := a.get(t, "/openapi.yaml")
	if res.Status != http.StatusOK || !bytes.Equal(res.Body, api.Spec) || res.Header.Get("Content-Type") != "application/yaml" {
		t.Errorf("GET /openapi.yaml = %d %s, %d bytes; want the embedded spec", res.Status, res.Header.Get("Content-Type"), len(res.Body))
	}
	res = a.do(t, http.MethodGet, "/openapi.yaml", http.Header{"If-None-Match": {res.Header.Get("ETag")}})
	if res.Status != http.StatusNotModified {
		t.Errorf("GET /openapi.yaml with its ETag = %d, want 304", res.Status)
	}
	var regs registriesResponse
	a.get(t, "/api/v1/registries").json(t, &regs)
	if regs.Registries == nil || len(regs.Registries) != 0 {
		t.Errorf("registries without upstreams = %#v, want an empty list", regs.Registries)
	}
}
