package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/regapi/regapi/internal/registry"
)

// tagsResponse is the answer of GET …/-/tags.
type tagsResponse struct {
	Registry   string   `json:"registry"`
	Repository string   `json:"repository"`
	Tags       []string `json:"tags"`
	Next       string   `json:"next,omitempty"`
}

// handleTags serves GET …/-/tags?limit=&last=: one page of tags, with the
// next page's URL in "next" and a Link header. A page already answered is
// written from memo when the client returns the same tags again.
func handleTags(logger *slog.Logger, memo *answerMemo) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := repoTargetFrom(r.Context())
		q := r.URL.Query()
		limit, err := parseLimit(q.Get("limit"))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		last := q.Get("last")
		if last != "" && !registry.ValidTag(last) {
			writeError(w, r, logger, errorf(codePaginationInvalid, "invalid last %q: want a tag", truncate(last)))
			return
		}
		page, err := t.client().ListTagsPage(r.Context(), registry.WithTagsLimit(limit), registry.WithTagsLast(last))
		if err != nil {
			writeError(w, r, logger, fmt.Errorf("list tags: %w", err))
			return
		}
		key := memoKey(t.Registry, t.Repository, strconv.Itoa(limit), last)
		a := memo.getPage(key, page.Items, page.Next)
		if a == nil {
			resp := tagsResponse{Registry: t.Registry, Repository: t.Repository, Tags: page.Items}
			if resp.Tags == nil {
				resp.Tags = []string{}
			}
			if page.Next != "" {
				resp.Next = nextURL(t.repoRequest, url.Values{"limit": {strconv.Itoa(limit)}, "last": {page.Next}})
			}
			body, err := encodeBody(resp)
			if err != nil {
				writeError(w, r, logger, err)
				return
			}
			// The page is this request's own (the client's contract), so
			// the memo may keep its slice.
			a = &memoAnswer{body: body, etag: contentETag(body), items: page.Items, next: page.Next, nextURL: resp.Next}
			memo.put(key, a)
		}
		if a.nextURL != "" {
			setNextLink(w, a.nextURL)
		}
		respondBytes(w, r, "application/json", a.body, a.etag, cacheControlShort)
	})
}

// nextURL is the path-absolute URL of a listing's next page. It is relative
// to the server, as registries' own Link headers are, so it stays right
// behind proxies that rewrite the host.
func nextURL(rr repoRequest, q url.Values) string {
	p := reposPrefix + rr.Registry
	if rr.Repository != "" {
		p += "/" + rr.Repository
	}
	return p + "/-/" + rr.Route.Action + "?" + q.Encode()
}

// setNextLink sets the RFC 8288 Link header for the next page.
func setNextLink(w http.ResponseWriter, next string) {
	w.Header().Set("Link", "<"+next+`>; rel="next"`)
}
