package handlers

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// The memo stays within its byte budget and entry count, keeps its byte
// count exact through replacements and evictions, and never keeps an
// oversized answer.
func TestAnswerMemoBounds(t *testing.T) {
	m := newAnswerMemo()
	body := make([]byte, 4<<10)
	for i := range 10_000 {
		m.put(fmt.Sprint("k", i), &memoAnswer{body: body, etag: `"e"`})
		if m.lru.Bytes() > memoBytes {
			t.Fatalf("after %d puts the memo holds %d bytes, over its %d budget", i+1, m.lru.Bytes(), memoBytes)
		}
	}
	if n := m.lru.Len(); n == 0 || n > memoEntries {
		t.Fatalf("memo holds %d answers, want 1 to %d", n, memoEntries)
	}
	if m.get("k9999") == nil || m.get("k0") != nil {
		t.Errorf("the newest answer is gone or the oldest was kept")
	}

	// Replacing and evicting everything brings the count back to zero.
	for i := range 10_000 {
		key := fmt.Sprint("k", i)
		m.put(key, &memoAnswer{body: []byte("x"), items: []string{"a"}})
		m.lru.Remove(key)
	}
	if m.lru.Bytes() != 0 || m.lru.Len() != 0 {
		t.Errorf("empty memo counts %d bytes in %d answers, want 0 in 0", m.lru.Bytes(), m.lru.Len())
	}

	m.put("big", &memoAnswer{body: make([]byte, memoMaxBody+1)})
	if m.get("big") != nil {
		t.Errorf("an answer over %d bytes was kept", memoMaxBody)
	}
	var none *answerMemo
	none.put("k", &memoAnswer{})
	if none.get("k") != nil {
		t.Errorf("a nil memo answered")
	}
}

// A page's answer is used only for exactly the page it was encoded from.
func TestAnswerMemoPageMustMatch(t *testing.T) {
	m := newAnswerMemo()
	m.put("p", &memoAnswer{body: []byte("b"), items: []string{"a", "b"}, next: "b"})
	for _, tt := range []struct {
		items []string
		next  string
		hit   bool
	}{
		{[]string{"a", "b"}, "b", true},
		{[]string{"a", "b"}, "", false},
		{[]string{"a", "c"}, "b", false},
		{[]string{"a"}, "b", false},
		{[]string{"a", "b", "c"}, "b", false},
		{nil, "b", false},
	} {
		if got := m.getPage("p", tt.items, tt.next) != nil; got != tt.hit {
			t.Errorf("getPage(%q, %q) hit = %v, want %v", tt.items, tt.next, got, tt.hit)
		}
	}
	if m.getPage("other", []string{"a", "b"}, "b") != nil {
		t.Errorf("a page matched under another key")
	}
}

// Keys of different part lists differ, whatever bytes the parts hold.
func TestMemoKeyIsInjective(t *testing.T) {
	lists := [][]string{
		{"a\x00", "b"}, {"a", "\x00b"}, {"ab", ""}, {"a", "b"}, {"", "ab"},
		{"a", "b", ""}, {"\x01a", "b"}, {strings.Repeat("x", 200), "y"}, {strings.Repeat("x", 199), "xy"},
	}
	seen := map[string][]string{}
	for _, l := range lists {
		k := memoKey(l...)
		if prev, ok := seen[k]; ok {
			t.Errorf("memoKey(%q) = memoKey(%q)", l, prev)
		}
		seen[k] = l
	}
}

// Through the whole server, with the real cache and registry: an answer
// served from memo changes as soon as the data under it changes (a new tag,
// a moved tag), with a new ETag, and the old ETag no longer gets a 304.
func TestMemoFollowsTheData(t *testing.T) {
	dist := registrytest.StartDistribution(t, nil)
	first := registrytest.PushRandomImage(t, dist.Host, "team/app", "latest")

	clock := &fakeClock{}
	clock.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	c, err := cache.New(cache.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	a := newAPI(t, Config{
		Upstreams: []Upstream{{Name: "dist", Host: dist.Host, Client: c.Wrap("dist", clientFor(dist.Host, nil))}},
		Cache:     c,
	})
	tagsPath := "/api/v1/repos/dist/team/app/-/tags?limit=1"
	manifestPath := "/api/v1/repos/dist/team/app/-/manifests/latest"

	get := func(path, wantCache string) response {
		t.Helper()
		res := a.get(t, path)
		if res.Status != http.StatusOK || res.Header.Get("X-Cache") != wantCache {
			t.Fatalf("GET %s = %d X-Cache %q, want 200 %q; body %s", path, res.Status, res.Header.Get("X-Cache"), wantCache, res.Body)
		}
		return res
	}
	tags1 := get(tagsPath, "MISS")
	if again := get(tagsPath, "HIT"); string(again.Body) != string(tags1.Body) || again.Header.Get("ETag") != tags1.Header.Get("ETag") ||
		again.Header.Get("Link") != tags1.Header.Get("Link") {
		t.Fatalf("a hit answered %s (ETag %s, Link %s), the miss %s (ETag %s, Link %s)", again.Body, again.Header.Get("ETag"), again.Header.Get("Link"),
			tags1.Body, tags1.Header.Get("ETag"), tags1.Header.Get("Link"))
	}
	man1 := get(manifestPath, "MISS")
	get(manifestPath, "HIT")

	// A new tag that sorts first, and latest moved to another image.
	second := registrytest.PushRandomImage(t, dist.Host, "team/app", "alpha")
	registrytest.Push(t, dist.Host+"/team/app:latest", second)
	clock.advance(2 * time.Minute)

	var page tagsResponse
	tags2 := get(tagsPath, "MISS")
	tags2.json(t, &page)
	if !slices.Equal(page.Tags, []string{"alpha"}) || page.Next == "" {
		t.Errorf("first page after the push = %v next %q, want [alpha] and a next page", page.Tags, page.Next)
	}
	if want := "<" + page.Next + `>; rel="next"`; tags2.Header.Get("Link") != want {
		t.Errorf("Link after the push = %q, want %q", tags2.Header.Get("Link"), want)
	}
	if tags2.Header.Get("ETag") == tags1.Header.Get("ETag") {
		t.Errorf("the page changed but its ETag %s did not", tags2.Header.Get("ETag"))
	}
	res := a.do(t, http.MethodGet, tagsPath, http.Header{"If-None-Match": {tags1.Header.Get("ETag")}})
	if res.Status != http.StatusOK {
		t.Errorf("the old page's ETag got %d, want 200 with the new page", res.Status)
	}

	var m manifestResponse
	man2 := get(manifestPath, "MISS")
	man2.json(t, &m)
	if want := must(second.Digest()).String(); m.Digest != want || man2.Header.Get("ETag") != `"`+want+`"` {
		t.Errorf("manifest of the moved tag = %s (ETag %s), want %s", m.Digest, man2.Header.Get("ETag"), want)
	}
	if string(man2.Body) == string(man1.Body) || m.Digest == must(first.Digest()).String() {
		t.Errorf("the moved tag was answered with the old envelope")
	}
}
