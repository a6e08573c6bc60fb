package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// partialEnv is regapi over the answer cache over a fault proxy over the
// distribution registry, holding five tags of tableRepo in registry order:
// 1.0.0, 1.1.0, 2.0.0, beta and latest (an alias of 2.0.0), each image of
// its own date.
type partialEnv struct {
	api   *apiEnv
	dist  *registrytest.Registry
	proxy *faultProxy
	host  string              // the proxy's address, the upstream regapi knows
	want  map[string]imageRow // the rows as the registry says, tag by tag
	rows  *countingInsight
}

// partialTags are the fixture's tags in the registry's order.
var partialTags = []string{"1.0.0", "1.1.0", "2.0.0", "beta", "latest"}

func newPartialEnv(t *testing.T, images Images) *partialEnv {
	t.Helper()
	dist := registrytest.StartDistribution(t, nil)
	amd := v1.Platform{OS: "linux", Architecture: "amd64"}
	for tag, days := range map[string]int{"1.0.0": 1, "1.1.0": 3, "2.0.0": 2, "beta": 4} {
		registrytest.Push(t, dist.Host+"/"+tableRepo+":"+tag, datedImage(t, tableBase.Add(time.Duration(days)*24*time.Hour), amd))
	}
	want := wantRows(t, dist.Host, []string{"1.0.0", "1.1.0", "2.0.0", "beta"})
	retag(t, dist.Host, tableRepo, want["2.0.0"].Digest, "latest")
	latest := want["2.0.0"]
	latest.Tag = "latest"
	want["latest"] = latest

	proxy := &faultProxy{target: dist.Host, rules: map[string]string{}}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	host := strings.TrimPrefix(front.URL, "http://")
	c, err := cache.New()
	if err != nil {
		t.Fatal(err)
	}
	rows := &countingInsight{}
	a := newAPI(t, Config{
		Upstreams: []Upstream{{Name: "f", Host: host, Client: c.Wrap("f", clientFor(host, nil))}},
		Cache:     c,
		Images:    images,
		Insight:   rows,
	})
	return &partialEnv{api: a, dist: dist, proxy: proxy, host: host, want: want, rows: rows}
}

// table GETs the table with query q, wants 200 and decodes it.
func (e *partialEnv) table(t *testing.T, q string) (imagesResponse, response) {
	t.Helper()
	return getTable(t, e.api, "f", q)
}

// noAddress fails when body names the proxy or the registry behind it.
func (e *partialEnv) noAddress(t *testing.T, what string, body []byte) {
	t.Helper()
	for _, addr := range []string{e.host, e.dist.Host, "127.0.0.1", "http://"} {
		if bytes.Contains(body, []byte(addr)) {
			t.Errorf("%s names %q: %s", what, addr, body)
		}
	}
}

// failedRow is the row of a tag that failed with code and detail.
func failedRow(tag, digest, code, detail string) imageRow {
	return imageRow{Tag: tag, Digest: digest, Error: &rowError{Code: code, Detail: detail}}
}

func rowTags(rows []imageRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Tag
	}
	return out
}

// wantIncomplete fails unless res is an incomplete table: incomplete set,
// not to be stored, no ETag.
func wantIncomplete(t *testing.T, q string, got imagesResponse, res response) {
	t.Helper()
	if !got.Incomplete || res.Header.Get("Cache-Control") != cacheControlNone || res.Header.Get("ETag") != "" {
		t.Errorf("images?%s: incomplete %v, Cache-Control %q, ETag %q; want true, %s, none",
			q, got.Incomplete, res.Header.Get("Cache-Control"), res.Header.Get("ETag"), cacheControlNone)
	}
}

// TestImageTableFailedRow: one image's manifest answers 500. Its tags
// fail alone (1.1.0 carries the error, the others are complete), sorts and
// digest= place or drop it, a page of nothing but it is the error, and
// once the manifest is healthy again the next table is complete, cached
// and revalidated as any.
func TestImageTableFailedRow(t *testing.T) {
	e := newPartialEnv(t, Images{})
	broken := e.want["1.1.0"].Digest
	e.proxy.set("/manifests/"+broken, "500")
	failed := failedRow("1.1.0", broken, "UPSTREAM_UNAVAILABLE", "the upstream registry answered 500")

	got, res := e.table(t, "")
	wantIncomplete(t, "", got, res)
	e.noAddress(t, "the incomplete table", res.Body)
	if n := e.rows.failed.Load(); n != 1 {
		t.Errorf("failed rows counted = %d, want 1", n)
	}
	if len(got.Images) != len(partialTags) {
		t.Fatalf("table = %v, want a row for each of %v", rowTags(got.Images), partialTags)
	}
	for i, row := range got.Images {
		want := e.want[partialTags[i]]
		if row.Tag == "1.1.0" {
			want = failed
		}
		if diff := gocmp.Diff(want, row); diff != "" {
			t.Errorf("row %d (-want +got):\n%s", i, diff)
		}
	}

	for _, tt := range []struct {
		query string
		want  []string
	}{
		// A version comes from the tag: the failed row keeps its place.
		{"sort=-semver", []string{"2.0.0", "1.1.0", "1.0.0", "beta", "latest"}},
		// No date: last, as rows without one.
		{"sort=created", []string{"1.0.0", "2.0.0", "latest", "beta", "1.1.0"}},
		{"sort=-created", []string{"beta", "2.0.0", "latest", "1.0.0", "1.1.0"}},
		// Its HEAD gave its digest: digest= finds it.
		{"digest=" + broken, []string{"1.1.0"}},
		{"digest=" + e.want["1.0.0"].Digest, []string{"1.0.0"}},
		{"sort=-created&limit=2&last=latest", []string{"1.0.0", "1.1.0"}},
	} {
		got, res := e.table(t, tt.query)
		if !slices.Equal(rowTags(got.Images), tt.want) {
			t.Errorf("images?%s = %v, want %v", tt.query, rowTags(got.Images), tt.want)
		}
		wantIncomplete(t, tt.query, got, res)
		for _, row := range got.Images {
			if want := (row.Tag == "1.1.0"); (row.Error != nil) != want {
				t.Errorf("images?%s: row %s error %v, want one: %v", tt.query, row.Tag, row.Error, want)
			}
		}
	}
	// A page whose every row failed is the failure, as before.
	e.api.get(t, "/api/v1/repos/f/"+tableRepo+"/-/images?include=1%5C.1%5C..*").problem(t, http.StatusBadGateway, "UPSTREAM_UNAVAILABLE")
	// A page without the failed row is complete.
	if got, res := e.table(t, "sort=semver&limit=1"); got.Incomplete || res.Header.Get("ETag") == "" || len(got.Images) != 1 || got.Images[0].Error != nil {
		t.Errorf("images?sort=semver&limit=1 = %+v, ETag %q; want 1.0.0 complete, with an ETag", got, res.Header.Get("ETag"))
	}

	e.proxy.set("/manifests/"+broken, "")
	healed, res := e.table(t, "")
	if healed.Incomplete || res.Header.Get("Cache-Control") != cacheControlShort || res.Header.Get("ETag") == "" {
		t.Errorf("healed table: incomplete %v, Cache-Control %q, ETag %q; want false, %s, an ETag",
			healed.Incomplete, res.Header.Get("Cache-Control"), res.Header.Get("ETag"), cacheControlShort)
	}
	for i, row := range healed.Images {
		if diff := gocmp.Diff(e.want[partialTags[i]], row); diff != "" {
			t.Errorf("healed row %d (-want +got):\n%s", i, diff)
		}
	}
	path := "/api/v1/repos/f/" + tableRepo + "/-/images"
	if again := e.api.do(t, http.MethodGet, path, http.Header{"If-None-Match": {res.Header.Get("ETag")}}); again.Status != http.StatusNotModified {
		t.Errorf("healed table with its ETag = %d, want 304", again.Status)
	}
}

// TestImageTableFailedHead: a tag whose HEAD fails has a row without a
// digest, which digest= leaves out; a config cut short fails its row as
// UPSTREAM_INVALID. Both sort last by date.
func TestImageTableFailedHead(t *testing.T) {
	e := newPartialEnv(t, Images{})
	e.proxy.set("HEAD /manifests/beta", "500")
	e.proxy.set("/blobs/"+configDigest(t, e.dist.Host, e.want["1.0.0"].Digest), "cut")

	got, res := e.table(t, "")
	wantIncomplete(t, "", got, res)
	e.noAddress(t, "the incomplete table", res.Body)
	if n := e.rows.failed.Load(); n != 2 {
		t.Errorf("failed rows counted = %d, want 2", n)
	}
	want := []imageRow{
		failedRow("1.0.0", e.want["1.0.0"].Digest, "UPSTREAM_INVALID", "the upstream registry answered something regapi cannot use"),
		e.want["1.1.0"], e.want["2.0.0"],
		failedRow("beta", "", "UPSTREAM_UNAVAILABLE", "the upstream registry answered 500"),
		e.want["latest"],
	}
	if diff := gocmp.Diff(want, got.Images); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	if got, _ := e.table(t, "sort=created"); !slices.Equal(rowTags(got.Images), []string{"2.0.0", "latest", "1.1.0", "1.0.0", "beta"}) {
		t.Errorf("images?sort=created = %v, want the failed rows last in registry order", rowTags(got.Images))
	}
	// beta's digest is unknown: digest= cannot say it points there.
	got, res = e.table(t, "digest="+e.want["beta"].Digest)
	if len(got.Images) != 0 {
		t.Errorf("images?digest=<beta's> = %v, want none: its digest is unknown", rowTags(got.Images))
	}
	wantIncomplete(t, "digest=<beta's>", got, res)
}

// configDigest is the config blob's digest of the image manifest at
// digest in host's tableRepo.
func configDigest(t *testing.T, host, digest string) string {
	t.Helper()
	ref, err := name.ParseReference(host+"/"+tableRepo+"@"+digest, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	c, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

// TestImageTableAllRowsFail: when no row can be described, the table is
// the failure, as it was before rows failed alone; so is a tag list that
// fails. Neither names the upstream.
func TestImageTableAllRowsFail(t *testing.T) {
	e := newPartialEnv(t, Images{})
	// First: the tag list is not cached yet.
	e.proxy.set("/tags/list", "cut")
	e.api.get(t, "/api/v1/repos/f/"+tableRepo+"/-/images").problem(t, http.StatusBadGateway, "UPSTREAM_INVALID")
	e.proxy.set("/tags/list", "")
	e.proxy.set("/manifests/sha256:", "500")
	for _, q := range []string{"", "sort=-semver&limit=2", "sort=created", "digest=" + e.want["beta"].Digest} {
		p := e.api.get(t, "/api/v1/repos/f/"+tableRepo+"/-/images?"+q).problem(t, http.StatusBadGateway, "UPSTREAM_UNAVAILABLE")
		e.noAddress(t, "the problem", []byte(p.Detail))
	}
	e.proxy.set("/manifests/sha256:", "")
	if got, _ := e.table(t, ""); got.Incomplete || len(got.Images) != len(partialTags) {
		t.Errorf("table once the upstream behaves = %v, incomplete %v; want every tag, complete", rowTags(got.Images), got.Incomplete)
	}
}

// TestImageTableRateLimitStops: after a 429 the rows not yet started fail
// with it without asking the upstream. One row at a time makes the order
// fixed: 1.0.0 is described, 1.1.0's manifest answers 429, and 2.0.0,
// beta and latest are never asked for.
func TestImageTableRateLimitStops(t *testing.T) {
	e := newPartialEnv(t, Images{Concurrency: 1})
	e.proxy.set("/manifests/"+e.want["1.1.0"].Digest, "429")
	e.dist.ResetRequests()
	got, res := e.table(t, "")
	wantIncomplete(t, "", got, res)
	limited := "the upstream registry is rate-limiting regapi; retry later"
	want := []imageRow{
		e.want["1.0.0"],
		failedRow("1.1.0", e.want["1.1.0"].Digest, "TOOMANYREQUESTS", limited),
		failedRow("2.0.0", e.want["2.0.0"].Digest, "TOOMANYREQUESTS", limited),
		failedRow("beta", e.want["beta"].Digest, "TOOMANYREQUESTS", limited),
		failedRow("latest", e.want["latest"].Digest, "TOOMANYREQUESTS", limited),
	}
	if diff := gocmp.Diff(want, got.Images); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	kinds := upstreamKinds(e.dist)
	delete(kinds, "GET ping")
	if want := map[string]int{"GET tags": 1, "HEAD manifest": 5, "GET manifest": 2, "GET blob": 1}; fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("upstream requests %v, want %v (nothing after the 429)", kinds, want)
	}
}

// TestImageTableUnwellUpstreamStops: when every manifest answers 500, the
// table stops asking after rowFailStreak failures in a row (and the calls
// already started), and answers the failure.
func TestImageTableUnwellUpstreamStops(t *testing.T) {
	const n, workers = 30, 2
	dist := registrytest.StartDistribution(t, nil)
	tags := pushTable(t, dist.Host, tableRepo, n)
	digests := map[string]bool{}
	for _, r := range wantRows(t, dist.Host, tags) {
		digests[r.Digest] = true
	}
	if len(digests) <= rowFailStreak+workers {
		t.Fatalf("fixture has %d digests, want more than %d", len(digests), rowFailStreak+workers)
	}
	proxy := &faultProxy{target: dist.Host, rules: map[string]string{"/manifests/sha256:": "500"}}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	host := strings.TrimPrefix(front.URL, "http://")
	a := newAPI(t, Config{
		Upstreams: []Upstream{{Name: "f", Host: host, Client: clientFor(host, nil)}},
		Images:    Images{Concurrency: workers},
	})
	dist.ResetRequests()
	a.get(t, "/api/v1/repos/f/"+tableRepo+"/-/images?limit=1000").problem(t, http.StatusBadGateway, "UPSTREAM_UNAVAILABLE")
	got := upstreamKinds(dist)["GET manifest"]
	if got > rowFailStreak+workers {
		t.Errorf("%d manifest GETs for %d digests, want at most %d: the table should stop asking", got, len(digests), rowFailStreak+workers)
	}
	t.Logf("%d manifest GETs for %d digests", got, len(digests))
}
