package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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
func handleRepositories(logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := repoTargetFrom(r.Context())
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
		resp := repositoriesResponse{Registry: t.Registry, Repository: t.Repository}
		var next string
		if delimiter == "" {
			page, err := t.client().ListRepositoriesPage(r.Context(), registry.WithReposLimit(limit), registry.WithReposLast(last))
			if err != nil {
				writeError(w, r, logger, fmt.Errorf("list repositories: %w", err))
				return
			}
			resp.Repositories, next = page.Items, page.Next
			if resp.Repositories == nil {
				resp.Repositories = []string{}
			}
		} else {
			lv, err := listLevel(r.Context(), t.client(), t.Repository, limit, last)
			if err != nil {
				writeError(w, r, logger, fmt.Errorf("list repositories: %w", err))
				return
			}
			resp.Repositories, resp.Prefixes, next = lv.names, lv.prefixes, lv.next
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

// maxScanPages bounds the upstream pages one delimiter=/ request reads
// (maxScanPages × maxLimit names). A level whose names lie further apart
// is answered in shorter pages, each with a next cursor.
const maxScanPages = 10

// level is one page of a delimited listing.
type level struct {
	names    []string
	prefixes []string
	next     string
}

// listLevel lists the level directly below base, S3 style. Names and
// prefixes together count against limit. The cursor (next, and last on the
// way in) is the last full name consumed upstream: when it lies inside a
// prefix, that prefix was already answered, so its names are skipped.
// Catalogs are sorted, so a prefix's names are contiguous; seen also drops
// duplicates from a registry that does not sort.
func listLevel(ctx context.Context, c registry.Client, base string, limit int, last string) (level, error) {
	lv := level{names: []string{}, prefixes: []string{}}
	seen := map[string]bool{}
	if p, deep := levelPrefix(base, last); last != "" && deep {
		seen[p] = true
	}
	prev, cursor, count := last, last, 0
	for range maxScanPages {
		page, err := c.ListRepositoriesPage(ctx, registry.WithReposLimit(maxLimit), registry.WithReposLast(cursor))
		if err != nil {
			return level{}, err
		}
		for _, name := range page.Items {
			p, deep := levelPrefix(base, name)
			if deep && seen[p] {
				prev = name
				continue
			}
			if count == limit {
				lv.next = prev
				return lv, nil
			}
			if deep {
				seen[p] = true
				lv.prefixes = append(lv.prefixes, p)
			} else {
				lv.names = append(lv.names, name)
			}
			count++
			prev = name
		}
		if page.Next == "" {
			return lv, nil
		}
		cursor = page.Next
	}
	lv.next = prev
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
