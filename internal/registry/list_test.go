package registry_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// pushTags pushes one small image under every tag.
func pushTags(t *testing.T, host, repo string, tags ...string) {
	t.Helper()
	img := registrytest.RandomImage(t, 1)
	for _, tag := range tags {
		registrytest.Push(t, host+"/"+repo+":"+tag, img)
	}
}

func TestListTags(t *testing.T) {
	registries(t, func(t *testing.T, host string) {
		tags := []string{"a", "b", "c", "d", "e"}
		pushTags(t, host, "org/app", tags...)
		c := newClient(t, host, nil).WithSegment("org", "app")

		all, err := c.ListTags(ctx)
		if err != nil || !cmp.Equal(all, tags) {
			t.Errorf("ListTags() = %q, %v, want %q", all, err, tags)
		}
		page, err := c.ListTags(ctx, registry.WithTagsLimit(2), registry.WithTagsLast("b"))
		if err != nil || !cmp.Equal(page, []string{"c", "d"}) {
			t.Errorf("ListTags(limit 2, last b) = %q, %v, want [c d]", page, err)
		}

		// Walk the pages with ListTagsPage.
		var got []string
		last := ""
		for range 10 {
			p, err := c.ListTagsPage(ctx, registry.WithTagsLimit(2), registry.WithTagsLast(last))
			if err != nil {
				t.Fatalf("ListTagsPage(last %q): %v", last, err)
			}
			if len(p.Items) > 2 {
				t.Fatalf("ListTagsPage(limit 2) returned %d items", len(p.Items))
			}
			got = append(got, p.Items...)
			if p.Next == "" {
				break
			}
			last = p.Next
		}
		if !cmp.Equal(got, tags) {
			t.Errorf("pages of 2 = %q, want %q", got, tags)
		}

		// A limit above what registries accept is clamped.
		big, err := c.ListTags(ctx, registry.WithTagsLimit(5000))
		if err != nil || !cmp.Equal(big, tags) {
			t.Errorf("ListTags(limit 5000) = %q, %v, want %q", big, err, tags)
		}
	})
}

func TestListTagsMissingRepository(t *testing.T) {
	host := registrytest.NewDistribution(t, nil)
	_, err := newClient(t, host, nil).WithSegment("no", "such").ListTags(ctx)
	if !errors.Is(err, registry.ErrRepositoryNotFound) || !errors.Is(err, registry.ErrImageNotFound) {
		t.Errorf("ListTags(missing repo) = %v, want ErrRepositoryNotFound", err)
	}
}

func TestListRepositories(t *testing.T) {
	// A small catalog page size makes the client follow several pages. (With
	// 2, distribution v3.1.2 drops the connection on the first page of this
	// catalog: a bug of its own, seen with plain GETs too.)
	host := registrytest.NewDistribution(t, &registrytest.DistributionOptions{CatalogMaxEntries: 3})
	// The distribution registry lists in its storage walk order, where
	// "org/0x" precedes "org" and the whole "org/" subtree precedes "org-x".
	repos := []string{"aaa/x", "org/0x", "org", "org/a", "org/b/c", "org/b/d", "org/c", "org-x/y", "org.x/z", "org0/z", "zzz"}
	for _, r := range repos {
		pushTags(t, host, r, "v1")
	}
	base := newClient(t, host, nil)
	org := base.WithSegment("org")
	underOrg := []string{"org/0x", "org/a", "org/b/c", "org/b/d", "org/c"}

	tests := []struct {
		name   string
		client registry.Client
		opts   []registry.ListRepositoriesOption
		want   []string
	}{
		{"root", base, nil, repos},
		{"org", org, nil, underOrg},
		{"org/b", org.WithSegment("b"), nil, []string{"org/b/c", "org/b/d"}},
		{"org limit 3", org, []registry.ListRepositoriesOption{registry.WithReposLimit(3)}, underOrg[:3]},
		{"org after org/b/c", org, []registry.ListRepositoriesOption{registry.WithReposLast("org/b/c")}, []string{"org/b/d", "org/c"}},
		{"org limit 1 after org/a", org, []registry.ListRepositoriesOption{registry.WithReposLimit(1), registry.WithReposLast("org/a")}, []string{"org/b/c"}},
		{"leaf", org.WithSegment("c"), nil, []string{}},
		{"no such path", base.WithSegment("nope"), nil, []string{}},
		{"root limit 5000", base, []registry.ListRepositoriesOption{registry.WithReposLimit(5000)}, repos},
	}
	for _, tc := range tests {
		got, err := tc.client.ListRepositories(ctx, tc.opts...)
		if err != nil || !cmp.Equal(got, tc.want) {
			t.Errorf("%s: ListRepositories() = %q, %v, want %q", tc.name, got, err, tc.want)
		}
	}

	var got []string
	last := ""
	for range 10 {
		p, err := org.ListRepositoriesPage(ctx, registry.WithReposLimit(3), registry.WithReposLast(last))
		if err != nil {
			t.Fatalf("ListRepositoriesPage(last %q): %v", last, err)
		}
		if len(p.Items) > 3 {
			t.Fatalf("ListRepositoriesPage(limit 3) returned %d items", len(p.Items))
		}
		got = append(got, p.Items...)
		if p.Next == "" {
			break
		}
		last = p.Next
	}
	if want := underOrg; !cmp.Equal(got, want) {
		t.Errorf("org pages of 3 = %q, want %q", got, want)
	}
}

// TestListRepositoriesGGCR: ggcr's registry neither sorts its catalog nor
// honours "last"; the client filters and sorts.
func TestListRepositoriesGGCR(t *testing.T) {
	host := registrytest.NewGGCR(t)
	for _, r := range []string{"org/b", "other/x", "org/a", "org2/c"} {
		pushTags(t, host, r, "v1")
	}
	got, err := newClient(t, host, nil).WithSegment("org").ListRepositories(ctx)
	if want := []string{"org/a", "org/b"}; err != nil || !cmp.Equal(got, want) {
		t.Errorf("ListRepositories(org) = %q, %v, want %q", got, err, want)
	}
	p, err := newClient(t, host, nil).ListRepositoriesPage(ctx, registry.WithReposLimit(2))
	if err != nil || !cmp.Equal(p.Items, []string{"org/a", "org/b"}) || p.Next != "org/b" {
		t.Errorf("ListRepositoriesPage(root, limit 2) = %+v, %v, want [org/a org/b] next org/b", p, err)
	}
	p, err = newClient(t, host, nil).ListRepositoriesPage(ctx, registry.WithReposLimit(2), registry.WithReposLast("org/b"))
	if err != nil || !cmp.Equal(p.Items, []string{"org2/c", "other/x"}) || p.Next != "" {
		t.Errorf("ListRepositoriesPage(root, limit 2, last org/b) = %+v, %v, want [org2/c other/x], no next", p, err)
	}
}

// listStub serves /v2/ and a tags or catalog endpoint from f.
func listStub(t *testing.T, f func(w http.ResponseWriter, r *http.Request)) (host string, hits *atomic.Int32) {
	t.Helper()
	hits = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		hits.Add(1)
		f(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), hits
}

func TestListIgnoresN(t *testing.T) {
	// A registry that ignores n and last and returns everything.
	tags := make([]string, 30)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%02d", i)
	}
	host, _ := listStub(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"name":"app","tags":["%s"]}`, strings.Join(tags, `","`))
	})
	c := newClient(t, host, nil).WithSegment("app")
	p, err := c.ListTagsPage(ctx, registry.WithTagsLimit(10))
	if err != nil || !cmp.Equal(p.Items, tags[:10]) || p.Next != "t09" {
		t.Errorf("ListTagsPage(limit 10) = %+v, %v, want the first 10, next t09", p, err)
	}
	got, err := c.ListTags(ctx, registry.WithTagsLimit(3))
	if err != nil || len(got) != 3 {
		t.Errorf("ListTags(limit 3) = %q, %v, want 3 tags", got, err)
	}
}

func TestListLinkLoop(t *testing.T) {
	host, hits := listStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `</v2/app/tags/list?n=2&last=b>; rel="next"`)
		fmt.Fprint(w, `{"name":"app","tags":["a","b"]}`)
	})
	_, err := newClient(t, host, nil).WithSegment("app").ListTags(ctx)
	if err == nil || !strings.Contains(err.Error(), "repeated") {
		t.Errorf("ListTags(looping registry) = %v, want a repeated-cursor error", err)
	}
	if n := hits.Load(); n > 3 {
		t.Errorf("looping registry got %d requests, want at most 3", n)
	}
}

func TestListLinkForeignHost(t *testing.T) {
	host, _ := listStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<http://evil.example.com/v2/app/tags/list?last=b>; rel="next"`)
		fmt.Fprint(w, `{"name":"app","tags":["a","b"]}`)
	})
	_, err := newClient(t, host, nil).WithSegment("app").ListTags(ctx)
	if err == nil || !strings.Contains(err.Error(), "evil.example.com") {
		t.Errorf("ListTags(foreign Link) = %v, want an error naming the host", err)
	}
}

func TestCatalogNotSupported(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusMethodNotAllowed} {
		host, _ := listStub(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
		})
		_, err := newClient(t, host, nil).ListRepositories(ctx)
		if !errors.Is(err, registry.ErrCatalogNotSupported) {
			t.Errorf("ListRepositories(catalog %d) = %v, want ErrCatalogNotSupported", status, err)
		}
	}
}

// TestCatalogLastOnSortedPage: a catalog page that is sorted but ignores
// "last" is filtered by it; a page after "last" in the registry's own order
// is kept whole, even where byte order disagrees with walk order.
func TestCatalogLastOnSortedPage(t *testing.T) {
	tests := []struct {
		name, page, last string
		want             []string
	}{
		{"ignores last, sorted by chance", `["org/a","org/b","org/c"]`, "org/a", []string{"org/b", "org/c"}},
		{"honours last in walk order", `["a","a/b"]`, "a/0x", []string{"a", "a/b"}},
	}
	for _, tt := range tests {
		host, _ := listStub(t, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"repositories":%s}`, tt.page)
		})
		got, err := newClient(t, host, nil).ListRepositories(ctx, registry.WithReposLast(tt.last))
		if err != nil || !cmp.Equal(got, tt.want) {
			t.Errorf("%s: ListRepositories(last %q) = %q, %v, want %q", tt.name, tt.last, got, err, tt.want)
		}
	}
}
