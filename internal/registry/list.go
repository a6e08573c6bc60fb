package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// maxPageSize is the largest n sent to a registry: the distribution registry
// rejects a catalog n above its maxentries (1000 by default) and ECR any n
// above 1000 (https://github.com/google/go-containerregistry/issues/1091).
const maxPageSize = 1000

// maxListBody caps a listing response; a 1000-entry page is far smaller
// (1000 tags of 128 bytes are 131 KB of JSON). A page over it is
// ErrUpstreamInvalid. What a whole listing reads is bounded in listbounds.go.
const maxListBody = 8 << 20

// ListTags returns every tag, following pages; with WithTagsLimit, one page.
func (c *client) ListTags(ctx context.Context, opts ...ListTagsOption) ([]string, error) {
	o := optionsOf(opts, ListTagsOption.applyListTags)
	ctx, cl := c.begin(ctx, "list tags", "")
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	var b listBudget
	if o.limit > 0 {
		p, err := c.tagsPage(ctx, o, &b)
		if err != nil {
			return nil, cl.end(ctx, err, kindTags)
		}
		return p.Items, cl.end(ctx, nil, kindTags)
	}
	all, err := followPages(o.last, func(last string) (*Page, error) {
		return c.tagsPage(ctx, listOptions{limit: maxPageSize, last: last}, &b)
	})
	return all, cl.end(ctx, err, kindTags)
}

// ListTagsPage returns one page of at most WithTagsLimit tags (default and
// cap 1000) after WithTagsLast, and the cursor of the next page.
func (c *client) ListTagsPage(ctx context.Context, opts ...ListTagsOption) (*Page, error) {
	o := optionsOf(opts, ListTagsOption.applyListTags)
	ctx, cl := c.begin(ctx, "list tags page", "")
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	p, err := c.tagsPage(ctx, o, &listBudget{})
	return p, cl.end(ctx, err, kindTags)
}

// tagsPage reads one page of tags, charging it to b. A page holding a tag
// that breaks the grammar is refused (checkTags).
func (c *client) tagsPage(ctx context.Context, o listOptions, b *listBudget) (*Page, error) {
	repo, err := c.repository()
	if err != nil {
		return nil, err
	}
	limit := pageLimit(o.limit)
	var body struct {
		Tags []string `json:"tags"`
	}
	next, err := c.s.getList(ctx, repo.Scope("pull"), repo, "/v2/"+repo.RepositoryStr()+"/tags/list", limit, o.last, &body)
	if err != nil {
		return nil, err
	}
	if err := b.charge(body.Tags, next); err != nil {
		return nil, err
	}
	if err := checkTags(body.Tags); err != nil {
		return nil, err
	}
	p := truncate(body.Tags, limit, next)
	if p.Next == "" && len(p.Items) == limit {
		// A full page without a Link header: registries that do not send
		// Link (go-containerregistry's) may have more. At worst the next
		// page is empty.
		p.Next = p.Items[limit-1]
	}
	return p, nil
}

// pageLimit clamps a requested page size to (0, maxPageSize].
func pageLimit(n int) int {
	if n <= 0 || n > maxPageSize {
		return maxPageSize
	}
	return n
}

// truncate makes a page of at most limit items, whatever the registry sent.
// next is the registry's cursor ("" when it signalled the end).
func truncate(items []string, limit int, next string) *Page {
	if len(items) > limit {
		return &Page{Items: items[:limit:limit], Next: items[limit-1]}
	}
	if items == nil {
		items = []string{}
	}
	return &Page{Items: items, Next: next}
}

// followPages collects pages from cursor last until a page has no next
// cursor. A cursor seen twice is an error: the registry would loop. page
// charges what it reads to the listing's budget, which ends a listing that
// never loops but never ends.
func followPages(last string, page func(last string) (*Page, error)) ([]string, error) {
	seen := map[string]bool{}
	var all []string
	for {
		if seen[last] {
			return all, fmt.Errorf("%w: pagination loops: cursor %q repeated", ErrUpstreamInvalid, last)
		}
		seen[last] = true
		p, err := page(last)
		if err != nil {
			return all, err
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			if all == nil {
				all = []string{}
			}
			return all, nil
		}
		last = p.Next
	}
}

// getList GETs a listing endpoint with n and last, decodes the JSON body
// into out and returns the cursor of the next page from the Link header ("",
// when there is none). A registry rejecting n as too large is asked again
// without n, so that it uses its own page size.
func (s *shared) getList(ctx context.Context, scope string, res authn.Resource, path string, n int, last string, out any) (string, error) {
	rt, ch, err := s.scopedTransport(ctx, scope, res)
	if err != nil {
		return "", err
	}
	hc := &http.Client{Transport: rt, CheckRedirect: s.sameHostRedirect}
	scheme := "https"
	if ch.Insecure {
		scheme = "http"
	}
	u := url.URL{Scheme: scheme, Host: s.host, Path: path}
	noN := &s.noN[0]
	if strings.HasSuffix(path, "/_catalog") {
		noN = &s.noN[1]
	}
	if noN.Load() {
		n = 0
	}
	resp, err := listGet(ctx, hc, u, n, last)
	if err == nil && resp.StatusCode == http.StatusBadRequest && n > 0 {
		terr := transport.CheckError(resp, http.StatusOK)
		_ = resp.Body.Close() // read-only; CheckError has read what it needs
		var te *transport.Error
		if !errors.As(terr, &te) || !hasCode(te, "PAGINATION_NUMBER_INVALID") {
			return "", terr
		}
		noN.Store(true)
		resp, err = listGet(ctx, hc, u, 0, last)
	}
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }() // read-only: nothing to lose
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return "", err
	}
	body := &io.LimitedReader{R: resp.Body, N: maxListBody + 1}
	if err := json.NewDecoder(body).Decode(out); err != nil {
		if body.N == 0 { // it read the byte past maxListBody
			return "", fmt.Errorf("%w: %s page over %d bytes", ErrUpstreamInvalid, path, maxListBody)
		}
		if ctx.Err() != nil {
			return "", err
		}
		return "", fmt.Errorf("%w: decode %s: %w", ErrUpstreamInvalid, path, err)
	}
	return nextCursor(resp, s.home)
}

func listGet(ctx context.Context, hc *http.Client, u url.URL, n int, last string) (*http.Response, error) {
	q := url.Values{}
	if n > 0 {
		q.Set("n", strconv.Itoa(n))
	}
	if last != "" {
		q.Set("last", last)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	return hc.Do(req)
}

func hasCode(te *transport.Error, code string) bool {
	for _, d := range te.Errors {
		if string(d.Code) == code {
			return true
		}
	}
	return false
}

// sameHostRedirect keeps listing redirects on the registry's origin.
func (s *shared) sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if !s.home.is(originOf(req.URL)) {
		return fmt.Errorf("%w: listing redirected to %s://%s", errHostRefused, req.URL.Scheme, req.URL.Host)
	}
	return nil
}

// nextCursor reads the "last" parameter of a rel="next" Link header. A link
// to another origin (host, scheme or port) is an error; a link without "last" (an opaque cursor) is
// not supported and ends the listing.
func nextCursor(resp *http.Response, home origin) (string, error) {
	for _, link := range resp.Header.Values("Link") {
		for _, part := range strings.Split(link, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) && !strings.Contains(params, "rel=next") {
				continue
			}
			target = strings.Trim(strings.TrimSpace(target), "<>")
			u, err := resp.Request.URL.Parse(target)
			if err != nil {
				return "", fmt.Errorf("parse Link header: %w", err)
			}
			if !home.is(originOf(u)) {
				return "", fmt.Errorf("%w: Link header points to %s://%s", errHostRefused, u.Scheme, u.Host)
			}
			last := u.Query().Get("last")
			if len(last) > maxCursorBytes {
				return "", fmt.Errorf("%w: Link header cursor of %d bytes, cap %d", ErrUpstreamInvalid, len(last), maxCursorBytes)
			}
			return last, nil
		}
	}
	return "", nil
}

// ListRepositories returns every repository below the client's path; with
// WithReposLimit, one page.
func (c *client) ListRepositories(ctx context.Context, opts ...ListRepositoriesOption) ([]string, error) {
	o := optionsOf(opts, ListRepositoriesOption.applyListRepositories)
	ctx, cl := c.begin(ctx, "list repositories", "")
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	var b listBudget
	if o.limit > 0 {
		p, err := c.reposPage(ctx, o, &b)
		if err != nil {
			return nil, cl.end(ctx, err, kindCatalog)
		}
		return p.Items, cl.end(ctx, nil, kindCatalog)
	}
	all, err := followPages(o.last, func(last string) (*Page, error) {
		return c.reposPage(ctx, listOptions{limit: maxPageSize, last: last}, &b)
	})
	return all, cl.end(ctx, err, kindCatalog)
}

// ListRepositoriesPage returns one page of repositories below the client's
// path and the cursor of the next page.
func (c *client) ListRepositoriesPage(ctx context.Context, opts ...ListRepositoriesOption) (*Page, error) {
	o := optionsOf(opts, ListRepositoriesOption.applyListRepositories)
	ctx, cl := c.begin(ctx, "list repositories page", "")
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	p, err := c.reposPage(ctx, o, &listBudget{})
	return p, cl.end(ctx, err, kindCatalog)
}

// reposPage reads the catalog from just before the client's subtree on
// until it has a page of matches, keeping the registry's order.
//
// Registries order the catalog differently: byte order (most), or the
// distribution registry's storage walk order, where "a/0" comes before the
// repository "a" and "a/b" after it. Starting at "path/" would make the
// distribution registry skip children starting with a digit, so the scan
// starts at startCursor(path), which precedes the subtree in both orders.
// On a page ordered either way, a name past the subtree ends the scan. A
// page in neither order (go-containerregistry's registry, which also
// ignores "last") is filtered by the cursor and sorted.
//
// Every catalog page read is charged to b, matching or not, and a page
// holding a name that breaks the grammar is refused (checkRepositories).
func (c *client) reposPage(ctx context.Context, o listOptions, b *listBudget) (*Page, error) {
	if c.s.err != nil {
		return nil, c.s.err
	}
	if c.err != nil {
		return nil, c.err
	}
	prefix := ""
	if c.path != "" {
		prefix = c.path + "/"
	}
	limit := pageLimit(o.limit)
	cursor := o.last
	if cursor == "" {
		cursor = startCursor(c.path)
	}
	var matches []string
	seen := map[string]bool{}
	for {
		if seen[cursor] {
			return nil, fmt.Errorf("%w: catalog pagination loops: cursor %q repeated", ErrUpstreamInvalid, cursor)
		}
		seen[cursor] = true
		var body struct {
			Repositories []string `json:"repositories"`
		}
		// Always the largest page: most entries may fall outside the prefix,
		// and a registry that ignores "last" must send everything at once.
		next, err := c.s.getList(ctx, "registry:catalog:*", c.s.reg, "/v2/_catalog", maxPageSize, cursor, &body)
		if err != nil {
			return nil, err
		}
		if err := b.charge(body.Repositories, next); err != nil {
			return nil, err
		}
		if err := checkRepositories(body.Repositories); err != nil {
			return nil, err
		}
		page, passed := filterCatalog(body.Repositories, c.path, prefix, o.last)
		matches = append(matches, page...)
		if len(matches) >= limit {
			p := truncate(matches, limit, "")
			if p.Next == "" && (!passed && next != "" || len(matches) > limit) {
				p.Next = p.Items[len(p.Items)-1]
			}
			return p, nil
		}
		if passed || next == "" {
			return truncate(matches, limit, ""), nil
		}
		cursor = next
	}
}

// filterCatalog returns the names under prefix from one catalog page, and
// whether the page shows that the subtree is over.
func filterCatalog(names []string, path, prefix, last string) (matches []string, passed bool) {
	less := orderOf(names)
	if less == nil {
		// Unordered: the registry ignores "last" too; filter and sort.
		for _, r := range names {
			if strings.HasPrefix(r, prefix) && (last == "" || r > last) {
				matches = append(matches, r)
			}
		}
		sort.Strings(matches)
		return matches, false
	}
	for _, r := range names {
		switch {
		case last != "" && !byteLess(last, r) && !walkLess(last, r):
			// Not after last in either order: a registry that ignores
			// "last" whose page is sorted by chance (go-containerregistry's
			// map order). Comparing in the page's order alone would drop
			// names that the distribution registry rightly sends ("a" after
			// "a/0x" in walk order, before it in byte order).
		case strings.HasPrefix(r, prefix):
			matches = append(matches, r)
		case r != path && prefix != "" && less(prefix, r):
			return matches, true
		}
	}
	return matches, false
}

// orderOf returns the order names are sorted in (byte order or the
// distribution registry's walk order), or nil.
func orderOf(names []string) func(a, b string) bool {
	for _, less := range []func(a, b string) bool{byteLess, walkLess} {
		if sort.SliceIsSorted(names, func(i, j int) bool { return less(names[i], names[j]) }) {
			return less
		}
	}
	return nil
}

func byteLess(a, b string) bool { return a < b }

// walkLess orders names as the distribution registry's storage walk emits
// them: by the path of their "_manifests" directory, "/" sorting first.
func walkLess(a, b string) bool {
	key := func(s string) string { return strings.ReplaceAll(s+"/_manifests", "/", "\x00") }
	return key(a) < key(b)
}

// startCursor returns a valid repository name that sorts before path and
// everything below it, in byte order and in walk order: path cut after its
// last character that has an alphanumeric predecessor, that character
// decremented ("org/app" → "org/apo", "x/a0" → "x/9"). "" when there is none.
func startCursor(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		switch ch := path[i]; {
		case ch == 'a':
			return path[:i] + "9"
		case ch > 'a' && ch <= 'z', ch > '0' && ch <= '9':
			return path[:i] + string(ch-1)
		}
	}
	return ""
}
