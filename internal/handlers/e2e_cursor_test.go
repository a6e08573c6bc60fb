package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// seedRepositories makes each of names a repository of the distribution
// registry at host, cheaply: one image pushed once, then per name a blob
// mount and a manifest PUT, a few at a time.
func seedRepositories(t *testing.T, host string, names []string) {
	t.Helper()
	img := empty.Image
	registrytest.Push(t, host+"/seed/base:latest", img)
	manifest, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := img.MediaType()
	cfg, _ := img.ConfigName()

	work := make(chan string)
	errs := make(chan error, len(names))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for repo := range work {
				errs <- seedOne(host, repo, cfg.String(), string(mt), manifest)
			}
		}()
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// seedOne mounts the seed's config blob into repo and puts the manifest.
func seedOne(host, repo, digest, mediaType string, manifest []byte) error {
	u := fmt.Sprintf("http://%s/v2/%s/blobs/uploads/?mount=%s&from=seed/base", host, repo, digest)
	res, err := http.Post(u, "", nil) //nolint:noctx // loopback test registry
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("mount into %s: %d", repo, res.StatusCode)
	}
	req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("http://%s/v2/%s/manifests/latest", host, repo), bytes.NewReader(manifest)) //nolint:noctx // as above
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaType)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("put manifest of %s: %d", repo, res.StatusCode)
	}
	return nil
}

// TestListingCursorHidesNames pages through a real distribution registry
// where runs of thousands of names are hidden from the caller, longer
// than the scanning budget: no next (or Link) ever names a hidden
// repository, and the caller sees each visible one exactly once. A sealed
// cursor is refused when altered, or replayed by another caller or on
// another listing.
func TestListingCursorHidesNames(t *testing.T) {
	dist := registrytest.StartDistribution(t, nil)
	visible := []string{"a/one", "a/two", "c/x", "e/deep/a", "e/deep/b", "e/three", "zz/last"}
	var hidden []string
	for i := range 1500 {
		hidden = append(hidden, fmt.Sprintf("b/hidden%04d", i))
	}
	for i := range 600 {
		hidden = append(hidden, fmt.Sprintf("d/hidden%03d", i), fmt.Sprintf("e/hidden%03d", i))
	}
	seedRepositories(t, dist.Host, append(append([]string{}, visible...), hidden...))

	scope := auth.Scope{Registry: "dist", Repositories: []string{"a/**", "c/**", "e/deep/**", "e/three", "zz/**"}, Actions: []auth.Action{auth.ActionPull}}
	other := auth.Scope{Registry: "dist", Repositories: []string{"**"}, Actions: []auth.Action{auth.ActionPull}}
	api := newAPI(t, Config{
		Upstreams:  []Upstream{{Name: "dist", Host: dist.Host, Client: clientFor(dist.Host, nil)}},
		Auth:       newAuth(t, auth.Config{Tokens: []auth.Token{tokenFor("narrow", secretOf("narrow"), scope), tokenFor("wide", secretOf("wide"), other)}}),
		listBudget: 100,
	})
	as := func(caller, path string) response {
		t.Helper()
		return api.do(t, http.MethodGet, path, http.Header{"Authorization": {"Bearer " + secretOf(caller)}})
	}

	// Every page is checked; the last sealed cursor seen is kept for the
	// refusals below.
	var sealed, sealedPath string
	walk := func(first string) (names, prefixes []string) {
		t.Helper()
		sealed, sealedPath = "", ""
		next := first
		for pages := 0; next != ""; pages++ {
			if pages > 200 {
				t.Fatalf("%s: more than 200 pages", first)
			}
			res := as("narrow", next)
			var page repositoriesResponse
			res.json(t, &page)
			names, prefixes = append(names, page.Repositories...), append(prefixes, page.Prefixes...)
			if link := res.Header.Get("Link"); page.Next != "" && link != "<"+page.Next+`>; rel="next"` {
				t.Fatalf("Link %q does not carry next %q", link, page.Next)
			}
			next = page.Next
			if next == "" {
				break
			}
			u, err := url.Parse(next)
			if err != nil {
				t.Fatal(err)
			}
			last := u.Query().Get("last")
			for _, h := range hidden {
				if strings.Contains(last, h) || strings.Contains(next, url.QueryEscape(h)) {
					t.Fatalf("page %d of %s: next %q names hidden %s", pages, first, next, h)
				}
			}
			if isSealed(last) {
				sealed, sealedPath = last, next
			}
		}
		return names, prefixes
	}

	names, _ := walk("/api/v1/repos/dist/-/repositories?limit=2")
	if diff := cmp.Diff(visible, names); diff != "" {
		t.Errorf("flat listing (-want +got):\n%s", diff)
	}
	if sealed == "" {
		t.Fatal("flat listing: no page was answered with a sealed cursor: the budget was never crossed")
	}
	names, prefixes := walk("/api/v1/repos/dist/-/repositories?limit=1&delimiter=/")
	if diff := cmp.Diff([]string{"a", "c", "e", "zz"}, prefixes); diff != "" || len(names) != 0 {
		t.Errorf("delimited root: names %q, prefixes (-want +got):\n%s", names, diff)
	}
	names, prefixes = walk("/api/v1/repos/dist/e/-/repositories?limit=1&delimiter=/")
	if diff := cmp.Diff([]string{"e/three"}, names); diff != "" || !cmp.Equal(prefixes, []string{"e/deep"}) {
		t.Errorf("delimited e: prefixes %q, names (-want +got):\n%s", prefixes, diff)
	}
	if sealed == "" {
		t.Fatal("delimited e: no page was answered with a sealed cursor")
	}

	// The sealed cursor works for its caller and listing only.
	if res := as("narrow", sealedPath); res.Status != http.StatusOK {
		t.Fatalf("GET %s again = %d, want 200", sealedPath, res.Status)
	}
	// One character changed to another of base64url, mid-string: the
	// cursor still decodes, and only the seal can tell.
	b := []byte(sealed)
	if b[len(b)/2] == 'A' {
		b[len(b)/2] = 'B'
	} else {
		b[len(b)/2] = 'A'
	}
	withLast := func(last string) string {
		return strings.Replace(sealedPath, "last="+sealed, "last="+url.QueryEscape(last), 1)
	}
	for _, tc := range []struct{ caller, path string }{
		{"narrow", withLast(string(b))},                                                                          // altered
		{"narrow", withLast("~" + strings.Repeat("A", 2000))},                                                    // oversized
		{"wide", sealedPath},                                                                                     // another caller
		{"narrow", strings.Replace(sealedPath, "/dist/e/-/", "/dist/-/", 1)},                                     // another path
		{"narrow", strings.Replace(sealedPath, "delimiter=%2F", "delimiter=", 1)},                                // not delimited
		{"narrow", "/api/v1/repos/dist/-/repositories?last=" + url.QueryEscape(sealedPrefix+"bm90LWEtY3Vyc29y")}, // forged
	} {
		if tc.caller == "narrow" && tc.path == sealedPath {
			t.Fatalf("case %q does not change the request", tc.path)
		}
		if !strings.Contains(tc.path, "last=") {
			t.Fatalf("case %q has no last", tc.path)
		}
		as(tc.caller, tc.path).problem(t, http.StatusBadRequest, "PAGINATION_INVALID")
	}

	// The wide caller pages through everything, each name once.
	var all []string
	next := "/api/v1/repos/dist/-/repositories?limit=1000"
	for next != "" {
		var page repositoriesResponse
		as("wide", next).json(t, &page)
		all, next = append(all, page.Repositories...), page.Next
	}
	want := append(append([]string{"seed/base"}, visible...), hidden...)
	sort.Strings(want)
	sort.Strings(all)
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("wide listing (-want +got):\n%s", diff)
	}
}
