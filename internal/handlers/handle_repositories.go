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
// never one the caller may not pull.
func handleRepositories(logger *slog.Logger) http.Handler {
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
		last := q.Get("last")
		if last != "" && validateRepository(last) != nil {
			writeError(w, r, logger, errorf(codePaginationInvalid, "invalid last %q: want a repository name", truncate(last)))
			return
		}
		delimiter := q.Get("delimiter")
		if delimiter != "" && delimiter != "/" {
			writeError(w, r, logger, errorf(codePaginationInvalid, "invalid delimiter %q: only / is supported", truncate(delimiter)))
			return
		}
		visible := func(name string) bool { return caller.Can(auth.ActionPull, t.Registry, name) }
		lv, err := listLevel(r.Context(), t.client(), listing{
			base: t.Repository, limit: limit, last: last, delimited: delimiter != "", visible: visible,
		})
		if err != nil {
			writeError(w, r, logger, fmt.Errorf("list repositories: %w", err))
			return
		}
		resp := repositoriesResponse{Registry: t.Registry, Repository: t.Repository, Repositories: lv.names}
		if delimiter != "" {
			resp.Prefixes = lv.prefixes
		}
		if lv.next != "" {
			nq := url.Values{"limit": {strconv.Itoa(limit)}, "last": {lv.next}}
			if delimiter != "" {
				nq.Set("delimiter", delimiter)
			}
			resp.Next = nextURL(t.repoRequest, nq)
			setNextLink(w, resp.Next)
		}
		respondJSON(w, r, logger, resp, "", cacheControlShort)
	})
}

// maxScanPages bounds the upstream pages one request reads while filling
// a page (maxScanPages × the page size). Names that lie further apart are
// answered in shorter pages, each with a next cursor.
const maxScanPages = 10

// listing is one listing request.
type listing struct {
	base      string // repository path listed below; "" is the root
	limit     int
	last      string // cursor from the caller
	delimited bool   // delimiter=/: one level, deeper paths as prefixes
	// visible reports whether the caller may see a repository.
	visible func(string) bool
}

// level is one page of a listing.
type level struct {
	names    []string
	prefixes []string
	next     string
}

// listLevel reads upstream pages until it has l.limit entries the caller
// may see, the catalog ends, or maxScanPages were read. Names hidden from
// the caller are consumed without counting. With l.delimited it answers
// one level below l.base, S3 style: names directly at that level, and the
// distinct deeper paths as prefixes, a prefix only when it holds a name
// the caller may see.
//
// The cursor (next, and l.last on the way in) is the last visible name
// consumed, never a hidden one, so a cursor reveals nothing. When it lies
// inside a prefix, that prefix was already answered, so its names are
// skipped. Catalogs are sorted, so a prefix's names are contiguous; seen
// also drops duplicates from a registry that does not sort.
func listLevel(ctx context.Context, c registry.Client, l listing) (level, error) {
	lv := level{names: []string{}, prefixes: []string{}}
	seen := map[string]bool{}
	if p, deep := levelPrefix(l.base, l.last); l.delimited && l.last != "" && deep {
		seen[p] = true
	}
	// A flat listing asks for one page of the caller's size, so that a
	// caller who sees everything costs one upstream request per page.
	pageSize := maxLimit
	if !l.delimited {
		pageSize = l.limit
	}
	cursor, upstream, count := l.last, l.last, 0
	for range maxScanPages {
		page, err := c.ListRepositoriesPage(ctx, registry.WithReposLimit(pageSize), registry.WithReposLast(upstream))
		if err != nil {
			return level{}, err
		}
		for _, name := range page.Items {
			if !l.visible(name) {
				continue
			}
			p, deep := "", false
			if l.delimited {
				p, deep = levelPrefix(l.base, name)
			}
			if deep && seen[p] {
				cursor = name
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
			cursor = name
		}
		if page.Next == "" {
			return lv, nil
		}
		if count == l.limit && !l.delimited {
			lv.next = cursor
			return lv, nil
		}
		upstream = page.Next
		pageSize = maxLimit // the caller's page is not full: read on in bulk
	}
	lv.next = cursor
	if cursor == l.last {
		// Every name of maxScanPages pages is hidden from the caller. The
		// only cursor that makes progress is the upstream one, a name the
		// caller may not pull: the price of not scanning without bound.
		lv.next = upstream
	}
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
