package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/registry"
)

// repositoriesResponse is the answer of GET …/-/repositories.
type repositoriesResponse struct {
	Registry     string   `json:"registry"`
	Repository   string   `json:"repository,omitempty"`
	Repositories []string `json:"repositories"`
	// Prefixes is present (possibly empty) only with delimiter=/.
	Prefixes []string `json:"prefixes,omitzero"`
	Next     string   `json:"next,omitempty"`
}

// handleRepositories serves GET …/-/repositories?limit=&last=&delimiter=:
// repositories below the path (or the registry's root) as full names.
// With delimiter=/ it answers one level, S3 style: names directly at that
// level in "repositories", the distinct deeper paths in "prefixes".
//
// Callers see only what they may pull. Upstream pages are read unfiltered
// (a cache below stores them for every caller) and filtered here, reading
// on until the page is full (see listLevel); next is the last name shown,
// never one the caller may not pull, or, when scanning ran out of budget
// among hidden names, a cursor sealed by lc.keys for this caller and
// listing.
func handleRepositories(logger *slog.Logger, lc listConfig) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := repoTargetFrom(r.Context())
		caller, err := auth.FromContext(r.Context())
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		q := r.URL.Query()
		limit, err := parseLimit(q.Get("limit"))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		delimiter := q.Get("delimiter")
		if delimiter != "" && delimiter != "/" {
			writeError(w, r, logger, errorf(codePaginationInvalid, "invalid delimiter %q: only / is supported", truncate(delimiter)))
			return
		}
		bind := cursorBinding{principal: caller.Name(), anonymous: caller.Anonymous(), registry: t.Registry, base: t.Repository, delimited: delimiter != ""}
		from, err := parseListCursor(r.Context(), lc.keys, bind, t.Repository, q.Get("last"), delimiter != "")
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		visible := func(name string) bool { return caller.Can(auth.ActionPull, t.Registry, name) }
		lv, err := listLevel(r.Context(), t.client(), listing{
			base: t.Repository, limit: limit, from: from, delimited: delimiter != "", visible: visible, budget: lc.budget,
		})
		if err != nil {
			writeError(w, r, logger, fmt.Errorf("list repositories: %w", err))
			return
		}
		resp := repositoriesResponse{Registry: t.Registry, Repository: t.Repository, Repositories: lv.names}
		if delimiter != "" {
			resp.Prefixes = lv.prefixes
		}
		next := lv.next
		if lv.resume != nil {
			if len(lv.resume.upstream)+len(lv.resume.prefix) > maxResumeBytes {
				// Sealed, it would be over what open accepts.
				writeError(w, r, logger, errorf(codeUpstreamInvalid, "the upstream registry's listing cursor is longer than %d bytes", maxResumeBytes))
				return
			}
			next = lc.keys.sealer(r.Context()).seal(bind, *lv.resume)
		}
		if next != "" {
			nq := url.Values{"limit": {strconv.Itoa(limit)}, "last": {next}}
			if delimiter != "" {
				nq.Set("delimiter", delimiter)
			}
			resp.Next = nextURL(t.repoRequest, nq)
			setNextLink(w, resp.Next)
		}
		respondJSON(w, r, logger, resp, "", cacheControlShort)
	})
}

// listConfig is what the repositories route needs besides the request.
type listConfig struct {
	keys *cursorKeyring
	// budget bounds the upstream names one request reads (see listLevel).
	budget int
}

// defaultListBudget bounds the names one listing request reads upstream
// while filling a page: ten pages of 1000, the largest page registries
// serve (see registry.maxPageSize). Hidden names that lie further apart
// are crossed in several requests, each answered with a sealed cursor.
const defaultListBudget = 10 * maxLimit

// maxScanPages bounds the upstream pages one request reads, whatever their
// size: an upstream answering empty pages with a next cursor still ends.
const maxScanPages = 10

// parseListCursor reads a caller's last: a repository name (shown on an
// earlier page, so the caller knows it) or a sealed cursor, opened under
// bind with keys. It returns where the listing resumes.
func parseListCursor(ctx context.Context, keys *cursorKeyring, bind cursorBinding, base, last string, delimited bool) (resumePoint, error) {
	switch {
	case last == "":
		return resumePoint{}, nil
	case isSealed(last):
		p, err := keys.sealer(ctx).open(bind, last)
		if err != nil {
			return resumePoint{}, errorf(codePaginationInvalid, "invalid last: not a cursor this server issued for this listing")
		}
		return p, nil
	case validateRepository(last) != nil:
		return resumePoint{}, errorf(codePaginationInvalid, "invalid last %q: want a repository name or a next cursor", truncate(last))
	}
	p := resumePoint{upstream: last}
	if pre, deep := levelPrefix(base, last); delimited && deep {
		// A name inside a prefix: that prefix was already answered.
		p.prefix = pre
	}
	return p, nil
}

// listing is one listing request.
type listing struct {
	base      string      // repository path listed below; "" is the root
	limit     int         // entries per page
	from      resumePoint // where the caller's cursor points
	delimited bool        // delimiter=/: one level, deeper paths as prefixes
	// visible reports whether the caller may see a repository.
	visible func(string) bool
	// budget bounds the upstream names read (defaultListBudget when 0).
	budget int
}

// level is one page of a listing.
type level struct {
	names    []string
	prefixes []string
	next     string       // a name shown to the caller, or ""
	resume   *resumePoint // set instead of next when it must be sealed
}

// listLevel reads upstream pages until it has l.limit entries the caller
// may see, the catalog ends, or l.budget names (or maxScanPages pages)
// were read. Names hidden from the caller are consumed without counting.
// With l.delimited it answers one level below l.base, S3 style: names
// directly at that level, and the distinct deeper paths as prefixes, a
// prefix only when it holds a name the caller may see.
//
// The cursor is the last visible name consumed, never a hidden one, so a
// cursor reveals nothing. When the budget ran out before any visible name,
// the only cursor that makes progress is the upstream's, a hidden name: it
// goes back as resume, for the caller to get sealed. When the cursor lies
// inside a prefix, that prefix was already answered, so its names are
// skipped. Catalogs are sorted, so a prefix's names are contiguous; seen
// also drops duplicates from a registry that does not sort.
func listLevel(ctx context.Context, c registry.Client, l listing) (level, error) {
	lv := level{names: []string{}, prefixes: []string{}}
	seen := map[string]bool{}
	if l.from.prefix != "" {
		seen[l.from.prefix] = true
	}
	budget := l.budget
	if budget <= 0 {
		budget = defaultListBudget
	}
	// A flat listing asks for one page of the caller's size, so that a
	// caller who sees everything costs one upstream request per page.
	pageSize := maxLimit
	if !l.delimited {
		pageSize = l.limit
	}
	cursor, upstream, count, progressed := "", l.from.upstream, 0, false
	cursors := map[string]bool{upstream: true}
	for pages, read := 0, 0; pages < maxScanPages && read < budget; pages++ {
		page, err := c.ListRepositoriesPage(ctx, registry.WithReposLimit(min(pageSize, budget-read)), registry.WithReposLast(upstream))
		if err != nil {
			return level{}, err
		}
		read += len(page.Items)
		for _, name := range page.Items {
			if !l.visible(name) {
				continue
			}
			p, deep := "", false
			if l.delimited {
				p, deep = levelPrefix(l.base, name)
			}
			if deep && seen[p] {
				cursor, progressed = name, true
				continue
			}
			if count == l.limit {
				lv.next = cursor
				return lv, nil
			}
			if deep {
				seen[p] = true
				lv.prefixes = append(lv.prefixes, p)
			} else {
				lv.names = append(lv.names, name)
			}
			count++
			cursor, progressed = name, true
		}
		if page.Next == "" {
			return lv, nil
		}
		if count == l.limit && !l.delimited {
			lv.next = cursor
			return lv, nil
		}
		if cursors[page.Next] {
			return level{}, fmt.Errorf("%w: catalog pagination loops at cursor %q", registry.ErrUpstreamInvalid, page.Next)
		}
		cursors[page.Next] = true
		upstream = page.Next
		pageSize = maxLimit // the caller's page is not full: read on in bulk
	}
	if progressed {
		lv.next = cursor
		return lv, nil
	}
	// Every name read is hidden from the caller: resume at the upstream's
	// cursor, which only a sealed cursor may carry.
	lv.resume = &resumePoint{upstream: upstream, prefix: l.from.prefix}
	return lv, nil
}

// levelPrefix returns the path one level below base that name lies under
// and whether name is deeper than that level. Names outside base count as
// direct.
func levelPrefix(base, name string) (string, bool) {
	rel := name
	if base != "" {
		var ok bool
		rel, ok = strings.CutPrefix(name, base+"/")
		if !ok {
			return "", false
		}
	}
	i := strings.IndexByte(rel, '/')
	if i < 0 {
		return "", false
	}
	if base == "" {
		return rel[:i], true
	}
	return base + "/" + rel[:i], true
}
