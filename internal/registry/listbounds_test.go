package registry_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regapi/regapi/internal/bombtest"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// readCounter counts the response body bytes a client reads from the
// wire, as Options.WrapTransport sees them.
type readCounter struct{ n atomic.Int64 }

func (c *readCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body = &countedBody{ReadCloser: resp.Body, n: &c.n}
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type countedBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countedBody) Read(p []byte) (int, error) {
	k, err := b.ReadCloser.Read(p)
	b.n.Add(int64(k))
	return k, err
}

// hostileClient returns a client of h at host "app" (no retries, so that
// counts are per attempt) and the counter of what it reads.
func hostileClient(t *testing.T, h *registrytest.Hostile) (registry.Client, *readCounter) {
	t.Helper()
	rc := &readCounter{}
	c := newClient(t, h.Start(t), &registry.Options{MaxRetries: -1, WrapTransport: rc.wrap})
	return c, rc
}

// TestListingBounds: a registry whose listing never ends, or whose pages
// hold what no registry keeping to the spec could, fails the listing with
// ErrUpstreamInvalid after a bounded read. Before the bounds, pages of
// 1000 tags of 7 KB with fresh cursors grew the process by 7 MB a page
// until the caller's deadline.
func TestListingBounds(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name      string
		h         *registrytest.Hostile
		catalog   bool
		maxPages  int64
		maxRead   int64
		wantInErr string
	}{
		// The red team's attack: every page 7 MB, each tag breaking the
		// grammar (more than 128 bytes): the first page is refused.
		{"long tags", &registrytest.Hostile{NameLen: 7000, PerPage: 1000}, false, 1, 8*mib + 1, "tag grammar"},
		// Valid tags, full pages, forever: 100,000 tags (100 pages) and no more.
		{"endless valid tags", &registrytest.Hostile{NameLen: 128, PerPage: 1000}, false, 101, 101 * 132_000, "names"},
		// No tags at all, forever: the page bound.
		{"endless empty pages", &registrytest.Hostile{PerPage: 0}, false, 2001, 2001 * 100, "pages"},
		{"page over 8 MiB", &registrytest.Hostile{NameLen: 120, PerPage: 80_000}, false, 1, 8*mib + 1, "bytes"},
		{"cursor over 4 KiB", &registrytest.Hostile{PerPage: 1, CursorLen: 5000}, false, 1, 1000, "cursor"},
		{"tag with a slash", &registrytest.Hostile{PerPage: 3, BadName: "../etc"}, false, 1, 1000, "tag grammar"},
		{"tag with markup", &registrytest.Hostile{PerPage: 3, BadName: "<script>"}, false, 1, 1000, "tag grammar"},
		{"endless catalog", &registrytest.Hostile{NameLen: 64, PerPage: 1000}, true, 101, 101 * 68_000, "names"},
		{"catalog with long names", &registrytest.Hostile{NameLen: 250, PerPage: 1000}, true, 68, 68 * 254_000, "bytes of names"},
		{"catalog name in capitals", &registrytest.Hostile{PerPage: 3, BadName: "Org/App"}, true, 1, 1000, "name grammar"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			c, rc := hostileClient(t, h)
			var err error
			if tc.catalog {
				_, err = c.ListRepositories(ctx)
			} else {
				_, err = c.WithSegment("app").ListTags(ctx)
			}
			if !errors.Is(err, registry.ErrUpstreamInvalid) || !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("listing = %v, want ErrUpstreamInvalid about %q", err, tc.wantInErr)
			}
			if n := h.ListPages.Load(); n > tc.maxPages {
				t.Errorf("the client read %d pages, want at most %d", n, tc.maxPages)
			}
			if n := rc.n.Load(); n > tc.maxRead {
				t.Errorf("the client read %d bytes, want at most %d", n, tc.maxRead)
			}
			t.Logf("%d pages, %d bytes read", h.ListPages.Load(), rc.n.Load())
		})
	}
}

// TestListingPageRefused: one page (ListTagsPage, ListRepositoriesPage)
// holding a name that breaks the grammar is refused as a whole listing is.
func TestListingPageRefused(t *testing.T) {
	h := &registrytest.Hostile{PerPage: 3, BadName: "a b", Pages: 1}
	c, _ := hostileClient(t, h)
	if _, err := c.WithSegment("app").ListTagsPage(ctx, registry.WithTagsLimit(2)); !errors.Is(err, registry.ErrUpstreamInvalid) {
		t.Errorf("ListTagsPage(bad tag) = %v, want ErrUpstreamInvalid", err)
	}
	if _, err := c.ListRepositoriesPage(ctx, registry.WithReposLimit(2)); !errors.Is(err, registry.ErrUpstreamInvalid) {
		t.Errorf("ListRepositoriesPage(bad name) = %v, want ErrUpstreamInvalid", err)
	}
}

// TestListingHeapBounded measures what an endless listing of valid tags
// costs the heap: the 100,000 tags kept (12.8 MB of names, 1.6 MB of
// string headers) and one page being decoded. Before the bounds it grew
// by the page size for as long as the caller waited.
func TestListingHeapBounded(t *testing.T) {
	h := &registrytest.Hostile{NameLen: 128, PerPage: 1000}
	c, _ := hostileClient(t, h)
	app := c.WithSegment("app")
	peak, err := bombtest.PeakHeap(func() error {
		_, err := app.ListTags(ctx)
		return err
	})
	if !errors.Is(err, registry.ErrUpstreamInvalid) {
		t.Fatalf("ListTags(endless) = %v, want ErrUpstreamInvalid", err)
	}
	t.Logf("heap peak %.1f MiB over %d pages", float64(peak)/(1<<20), h.ListPages.Load())
	if limit := uint64(32 << 20); peak > limit {
		t.Errorf("heap grew by %d bytes, want at most %d", peak, limit)
	}
}

// TestListTagsThousands: the bounds leave ordinary listings whole: the
// distribution registry with 3000 tags, in pages of 1000 (its default
// with n=1000) and of 100 (MaxTags), every tag in the registry's order.
func TestListTagsThousands(t *testing.T) {
	tags := make([]string, 3000)
	for i := range tags {
		tags[i] = fmt.Sprintf("v1.%04d", i)
	}
	for _, maxTags := range []int{0, 100} {
		t.Run(fmt.Sprintf("max tags %d", maxTags), func(t *testing.T) {
			reg := registrytest.StartDistribution(t, &registrytest.DistributionOptions{
				MaxTags: maxTags, Tags: map[string][]string{"org/app": tags},
			})
			got, err := newClient(t, reg.Host, nil).WithSegment("org", "app").ListTags(ctx)
			if err != nil || !cmp.Equal(got, tags) {
				t.Errorf("ListTags(3000 tags) = %d tags, %v, want all 3000 in order", len(got), err)
			}
			pageSize := 1000
			if maxTags > 0 {
				pageSize = maxTags
			}
			// A full last page has a Link too: one empty page more.
			if n, want := reg.CountRequests("GET", "/v2/org/app/tags/list"), len(tags)/pageSize+1; n != want {
				t.Errorf("ListTags read %d pages, want %d", n, want)
			}
		})
	}
}
