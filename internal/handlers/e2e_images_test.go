package handlers

import (
	"cmp"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// tableRepo is where the table tests push.
const tableRepo = "team/app"

// tableEnv is regapi over a cache over the distribution registry holding a
// table fixture.
type tableEnv struct {
	api   *apiEnv
	dist  *registrytest.Registry
	clock *fakeClock
	tags  []string
	rows  *countingInsight
}

// countingInsight counts the rows the table reports computed.
type countingInsight struct{ n, failed atomic.Int64 }

func (c *countingInsight) RowsComputed(n int) { c.n.Add(int64(n)) }
func (c *countingInsight) RowsFailed(n int)   { c.failed.Add(int64(n)) }

func newTableEnv(t *testing.T, n int, images Images) *tableEnv {
	t.Helper()
	dist := registrytest.StartDistribution(t, nil)
	tags := pushTable(t, dist.Host, tableRepo, n)
	clock := &fakeClock{}
	clock.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	c, err := cache.New(cache.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	rows := &countingInsight{}
	a := newAPI(t, Config{
		Upstreams: []Upstream{{Name: "dist", Host: dist.Host, Client: c.Wrap("dist", clientFor(dist.Host, nil))}},
		Cache:     c,
		Images:    images,
		Insight:   rows,
	})
	return &tableEnv{api: a, dist: dist, clock: clock, tags: tags, rows: rows}
}

// table GETs the table with query q and decodes it.
func (e *tableEnv) table(t *testing.T, q string) imagesResponse {
	t.Helper()
	got, _ := getTable(t, e.api, "dist", q)
	return got
}

// getTable GETs the table of tableRepo on upstream with query q, wants 200
// and decodes it.
func getTable(t *testing.T, a *apiEnv, upstream, q string) (imagesResponse, response) {
	t.Helper()
	res := a.get(t, "/api/v1/repos/"+upstream+"/"+tableRepo+"/-/images?"+q)
	if res.Status != http.StatusOK {
		t.Fatalf("GET images?%s = %d %s", q, res.Status, res.Body)
	}
	var got imagesResponse
	res.json(t, &got)
	return got, res
}

// wantRows works the table out with go-containerregistry directly, tag by
// tag, as a client would: the digest by HEAD, the manifest, each config.
func wantRows(t *testing.T, host string, tags []string) map[string]imageRow {
	t.Helper()
	rows := map[string]imageRow{}
	for _, tag := range tags {
		ref, err := name.ParseReference(host+"/"+tableRepo+":"+tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		head, err := remote.Head(ref)
		if err != nil {
			t.Fatalf("HEAD %s: %v", ref, err)
		}
		desc, err := remote.Get(ref)
		if err != nil {
			t.Fatalf("GET %s: %v", ref, err)
		}
		mt := string(desc.MediaType)
		row := imageRow{Tag: tag, Digest: head.Digest.String(), MediaType: &mt}
		if !desc.MediaType.IsIndex() {
			img, err := desc.Image()
			if err != nil {
				t.Fatal(err)
			}
			p := wantPlatform(t, img, nil)
			row.Size, row.Created = p.Size, p.Created
			row.Platforms = []imagePlatform{p}
			rows[tag] = row
			continue
		}
		idx, err := desc.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		var newest time.Time
		for _, d := range im.Manifests {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.Created.After(newest) {
				newest = cf.Created.Time
			}
			if d.Platform != nil && d.Platform.OS == "unknown" {
				continue
			}
			row.Platforms = append(row.Platforms, wantPlatform(t, img, d.Platform))
		}
		row.Created = formatWant(newest)
		rows[tag] = row
	}
	return rows
}

// wantPlatform is the platform entry of img: the index's platform p, or the
// config's.
func wantPlatform(t *testing.T, img v1.Image, p *v1.Platform) imagePlatform {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	if p == nil {
		p = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	}
	return imagePlatform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, Digest: d.String(), Size: &size, Created: formatWant(cf.Created.Time)}
}

func formatWant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// TestImageTable checks a 120-tag table against what the registry says,
// and every sort and filter against an independent computation.
func TestImageTable(t *testing.T) {
	e := newTableEnv(t, 120, Images{})
	want := wantRows(t, e.dist.Host, e.tags)
	registryOrder := slices.Sorted(slices.Values(e.tags)) // distribution lists tags sorted

	all := e.table(t, "limit=1000")
	if all.Next != "" || len(all.Images) != len(e.tags) {
		t.Fatalf("table = %d rows, next %q; want %d rows, no next", len(all.Images), all.Next, len(e.tags))
	}
	for i, row := range all.Images {
		if row.Tag != registryOrder[i] {
			t.Fatalf("row %d = %s, want %s (registry order)", i, row.Tag, registryOrder[i])
		}
		if diff := gocmp.Diff(want[row.Tag], row); diff != "" {
			t.Errorf("row %s differs from the registry (-want +got):\n%s", row.Tag, diff)
		}
	}

	tagsOf := func(rows []imageRow) []string {
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = r.Tag
		}
		return out
	}
	version := func(tag string) *semver.Version {
		v, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v"))
		if err != nil {
			return nil
		}
		return v
	}
	pos := map[string]int{}
	for i, tag := range registryOrder {
		pos[tag] = i
	}
	// byKey sorts tags by key (ok false: no key, last), ties in registry order.
	byKey := func(desc bool, key func(tag string) (int64, bool)) []string {
		var with, without []string
		for _, tag := range registryOrder {
			if _, ok := key(tag); ok {
				with = append(with, tag)
			} else {
				without = append(without, tag)
			}
		}
		slices.SortStableFunc(with, func(a, b string) int {
			ka, _ := key(a)
			kb, _ := key(b)
			c := cmp.Compare(ka, kb)
			if desc {
				c = -c
			}
			return cmp.Or(c, cmp.Compare(pos[a], pos[b]))
		})
		return append(with, without...)
	}
	bySemver := func(desc bool, tags []string) []string {
		var with, without []string
		for _, tag := range tags {
			if version(tag) != nil {
				with = append(with, tag)
			} else {
				without = append(without, tag)
			}
		}
		slices.SortStableFunc(with, func(a, b string) int {
			c := version(a).Compare(version(b))
			if desc {
				c = -c
			}
			return cmp.Or(c, cmp.Compare(pos[a], pos[b]))
		})
		return append(with, without...)
	}
	created := func(tag string) (int64, bool) {
		ts, err := time.Parse(time.RFC3339Nano, want[tag].Created)
		return ts.UnixNano(), err == nil
	}
	filter := func(keep func(tag string) bool) []string {
		var out []string
		for _, tag := range registryOrder {
			if keep(tag) {
				out = append(out, tag)
			}
		}
		return out
	}
	constraint, err := semver.NewConstraint(">=1.2 <3")
	if err != nil {
		t.Fatal(err)
	}
	// Digests that several tags share, and an index's child.
	var shared, child string
	count := map[string]int{}
	for _, r := range want {
		count[r.Digest]++
		if len(r.Platforms) == 2 && child == "" {
			child = r.Platforms[1].Digest
		}
	}
	for d, n := range count {
		if n > 1 {
			shared = d
			break
		}
	}
	if shared == "" || child == "" {
		t.Fatalf("fixture lacks a shared digest (%q) or an index child (%q)", shared, child)
	}
	pointsAt := func(d string) func(string) bool {
		return func(tag string) bool {
			if want[tag].Digest == d {
				return true
			}
			for _, p := range want[tag].Platforms {
				if p.Digest == d {
					return true
				}
			}
			return false
		}
	}
	nightly := regexp.MustCompile(`^(?:nightly-.*)$`)
	tests := []struct {
		query string
		want  []string
	}{
		{"sort=name", registryOrder},
		{"sort=semver", bySemver(false, registryOrder)},
		{"sort=-semver", bySemver(true, registryOrder)},
		{"sort=created", byKey(false, created)},
		{"sort=-created", byKey(true, created)},
		{"include=nightly-.*", filter(nightly.MatchString)},
		{"include=nightly", nil}, // anchored: the whole tag
		{"exclude=nightly-.*&sort=-semver", bySemver(true, filter(func(s string) bool { return !nightly.MatchString(s) }))},
		{"semver=" + url.QueryEscape(">=1.2 <3"), filter(func(s string) bool { v := version(s); return v != nil && constraint.Check(v) })},
		{"semver=" + url.QueryEscape(">=1.2 <3") + "&sort=-semver", bySemver(true, filter(func(s string) bool { v := version(s); return v != nil && constraint.Check(v) }))},
		{"digest=" + shared, filter(pointsAt(shared))},
		{"digest=" + child, filter(pointsAt(child))},
		{"digest=sha256:" + strings.Repeat("0", 64), nil},
		{"sort=-semver&limit=1", bySemver(true, registryOrder)[:1]},
	}
	for _, tt := range tests {
		q := tt.query
		if !strings.Contains(q, "limit=") {
			q += "&limit=1000"
		}
		got := tagsOf(e.table(t, q).Images)
		if tt.want == nil {
			tt.want = []string{}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("images?%s = %v, want %v", tt.query, got, tt.want)
		}
	}
	if n := len(filter(pointsAt(shared))); n < 2 {
		t.Errorf("digest=%s found %d tags, want the alias and its original", shared, n)
	}

	// Paging walks the sorted, filtered table through next.
	for _, q := range []string{"sort=-created", "sort=semver&exclude=.*rc.*", "sort=name"} {
		full := tagsOf(e.table(t, q+"&limit=1000").Images)
		var walked []string
		next := "/api/v1/repos/dist/" + tableRepo + "/-/images?" + q + "&limit=7"
		for pages := 0; next != ""; pages++ {
			if pages > 200 {
				t.Fatal("paging does not end")
			}
			res := e.api.get(t, next)
			var page imagesResponse
			res.json(t, &page)
			if page.Next != "" && res.Header.Get("Link") != "<"+page.Next+`>; rel="next"` {
				t.Errorf("Link = %q, want next %q", res.Header.Get("Link"), page.Next)
			}
			walked = append(walked, tagsOf(page.Images)...)
			next = page.Next
		}
		if !slices.Equal(walked, full) {
			t.Errorf("paging %s by 7 = %v, want %v", q, walked, full)
		}
	}
}

// TestImageTableErrors checks the query's validation and TOO_MANY_TAGS.
func TestImageTableErrors(t *testing.T) {
	e := newTableEnv(t, 30, Images{MaxRows: 10})
	base := "/api/v1/repos/dist/" + tableRepo + "/-/images?"
	for _, tt := range []struct{ query, code string }{
		{"sort=size", "PARAMETER_INVALID"},
		{"include=(", "PARAMETER_INVALID"},
		{"exclude=" + strings.Repeat("a", 300), "PARAMETER_INVALID"},
		{"semver=not-a-constraint!", "PARAMETER_INVALID"},
		{"digest=sha256:abc", "DIGEST_INVALID"},
		{"limit=0", "PAGINATION_INVALID"},
		{"last=nope", "PAGINATION_INVALID"},
		{"sort=created", "TOO_MANY_TAGS"},
		{"digest=sha256:" + strings.Repeat("0", 64), "TOO_MANY_TAGS"},
		{"sort=name&sort=semver", "PARAMETER_INVALID"},
	} {
		e.api.get(t, base+tt.query).problem(t, http.StatusBadRequest, tt.code)
	}
	// Sorts and filters on names alone work past the row limit, and a
	// name filter under it lets the date sort through.
	if got := e.table(t, "sort=-semver&limit=1000"); len(got.Images) != 30 {
		t.Errorf("sort=-semver over the row limit = %d rows, want 30", len(got.Images))
	}
	if got := e.table(t, "sort=created&include=nightly-.*"); len(got.Images) != 5 {
		t.Errorf("sort=created&include=nightly-.* = %d rows, want 5", len(got.Images))
	}
	e.api.get(t, "/api/v1/repos/dist/team/nope/-/images").problem(t, http.StatusNotFound, "NAME_UNKNOWN")
}

// TestImageTableHTTP checks the table's HTTP semantics: X-Cache, ETag and
// 304, and that pull on the repository is what it takes.
func TestImageTableHTTP(t *testing.T) {
	dist := registrytest.StartDistribution(t, nil)
	pushTable(t, dist.Host, tableRepo, 12)
	c, err := cache.New()
	if err != nil {
		t.Fatal(err)
	}
	const pullToken, otherToken = "pull-token-0123456789abcdef0123", "other-token-0123456789abcdef012"
	a := newAPI(t, Config{
		Upstreams: []Upstream{{Name: "dist", Host: dist.Host, Client: c.Wrap("dist", clientFor(dist.Host, nil))}},
		Auth: newAuth(t, auth.Config{Tokens: []auth.Token{
			tokenFor("puller", pullToken, auth.Scope{Registry: "dist", Repositories: []string{tableRepo}, Actions: []auth.Action{auth.ActionPull}}),
			tokenFor("other", otherToken, auth.Scope{Registry: "dist", Repositories: []string{"team/other"}, Actions: []auth.Action{auth.ActionPull, auth.ActionPush}}),
		}}),
	})
	path := "/api/v1/repos/dist/" + tableRepo + "/-/images?sort=-semver"
	as := func(token string, h http.Header) http.Header {
		if h == nil {
			h = http.Header{}
		}
		h.Set("Authorization", "Bearer "+token)
		return h
	}
	first := a.do(t, http.MethodGet, path, as(pullToken, nil))
	if first.Status != http.StatusOK || first.Header.Get("X-Cache") != "MISS" || first.Header.Get("ETag") == "" {
		t.Fatalf("first table = %d X-Cache %q ETag %q, want 200 MISS and an ETag", first.Status, first.Header.Get("X-Cache"), first.Header.Get("ETag"))
	}
	again := a.do(t, http.MethodGet, path, as(pullToken, nil))
	if again.Header.Get("X-Cache") != "HIT" || again.Header.Get("ETag") != first.Header.Get("ETag") || again.Header.Get("Cache-Control") != cacheControlShort {
		t.Errorf("second table X-Cache %q ETag %q Cache-Control %q, want HIT, the same ETag, %s",
			again.Header.Get("X-Cache"), again.Header.Get("ETag"), again.Header.Get("Cache-Control"), cacheControlShort)
	}
	before := len(dist.Requests())
	if res := a.do(t, http.MethodGet, path, as(pullToken, http.Header{"If-None-Match": {first.Header.Get("ETag")}})); res.Status != http.StatusNotModified {
		t.Errorf("table with If-None-Match = %d, want 304", res.Status)
	}
	if n := len(dist.Requests()) - before; n != 0 {
		t.Errorf("a 304 made %d upstream requests, want 0", n)
	}
	a.do(t, http.MethodGet, path, as(otherToken, nil)).problem(t, http.StatusForbidden, "DENIED")
	a.do(t, http.MethodGet, path, http.Header{"Authorization": {""}}).problem(t, http.StatusUnauthorized, "UNAUTHORIZED")
}
