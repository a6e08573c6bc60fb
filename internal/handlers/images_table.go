package handlers

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/regapi/regapi/internal/redact"
)

// imagesResponse is the answer of GET …/-/images.
type imagesResponse struct {
	Registry   string     `json:"registry"`
	Repository string     `json:"repository"`
	Images     []imageRow `json:"images"`
	Next       string     `json:"next,omitempty"`
	// Incomplete is set when a tag the answer depends on could not be
	// described: its row, if on this page, carries Error; a date sort or
	// digest= filter may have placed or left out what it could not read.
	Incomplete bool `json:"incomplete,omitempty"`
}

// imageRow is one tag of the table: described, or failed (Error set, with
// the digest when the tag's HEAD gave one, and nothing else).
type imageRow struct {
	Tag    string `json:"tag"`
	Digest string `json:"digest,omitempty"`
	// MediaType is nil only on a failed row: a described one always has
	// it, empty when the registry sent none.
	MediaType *string `json:"mediaType,omitempty"`
	Created   string  `json:"created,omitempty"`
	// Size is absent for an index: each platform downloads its own (see
	// Platforms).
	Size      *int64          `json:"size,omitempty"`
	Platforms []imagePlatform `json:"platforms,omitempty"`
	Error     *rowError       `json:"error,omitempty"`
}

// imagePlatform is one platform of a row.
type imagePlatform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
	Digest       string `json:"digest"`
	Size         *int64 `json:"size,omitempty"`
	Created      string `json:"created,omitempty"`
}

// tableEntry is a tag on its way into the table: its place in the
// registry's order and, once computed, its digest and summary, or why they
// could not be.
type tableEntry struct {
	tag     string
	pos     int
	version *semver.Version
	digest  string        // "" until resolved, when the tag vanished, or when its HEAD failed
	sum     *imageSummary // nil until computed, when the tag vanished, or when err is set
	err     error         // why the tag could not be resolved or described
}

// created is the entry's date, zero when unknown.
func (e *tableEntry) created() time.Time {
	if e.sum == nil {
		return time.Time{}
	}
	return e.sum.created
}

// handleImageTable serves GET …/-/images?sort=&include=&exclude=&semver=&digest=&limit=&last=:
// one row per tag with its digest, media type, date, size and platforms,
// sorted and filtered, one page at a time.
//
// Sorting by name or version and filtering by name read only the tag list:
// rows are then computed for the page answered. Sorting by date and
// filtering by digest need every row, so a repository with more matching
// tags than Images.MaxRows answers 400 TOO_MANY_TAGS for them.
//
// A tag whose digest, manifest or config the upstream fails to give (other
// than not found) fails only its row: the answer is 200, incomplete, and
// neither cached by clients nor given an ETag, so that the next request
// asks again. Only when no row could be described is the answer the first
// failure, as it was before rows could fail on their own.
func (in *insight) handleImageTable() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := repoTargetFrom(ctx)
		tq, err := parseTableQuery(r.URL.Query())
		if err != nil {
			writeError(w, r, in.logger, err)
			return
		}
		tags, err := t.client().ListTags(ctx)
		if err != nil {
			writeError(w, r, in.logger, fmt.Errorf("list tags: %w", err))
			return
		}
		var outcome tableOutcome
		entries := make([]*tableEntry, 0, len(tags))
		for i, tag := range tags {
			if tq.keepName(tag) {
				entries = append(entries, &tableEntry{tag: tag, pos: i, version: tagVersion(tag)})
			}
		}
		if tq.needsRows() {
			if len(entries) > in.cfg.MaxRows {
				writeError(w, r, in.logger, errorf(codeTooManyTags,
					"%d tags match, more than the %d rows this server computes for sort=%s or digest=; narrow them with include=, exclude= or semver=, or sort by name or semver",
					len(entries), in.cfg.MaxRows, tq.sort))
				return
			}
			if err := in.summarizeEntries(ctx, t, entries); err != nil {
				writeError(w, r, in.logger, err)
				return
			}
			outcome = outcomeOf(entries)
			entries = slices.DeleteFunc(entries, func(e *tableEntry) bool { return !tq.keepRow(e) })
		}
		sortEntries(entries, tq.sort)
		page, more, err := pageOf(entries, tq.last, tq.limit)
		if err != nil {
			writeError(w, r, in.logger, err)
			return
		}
		if !tq.needsRows() {
			if err := in.summarizeEntries(ctx, t, page); err != nil {
				writeError(w, r, in.logger, err)
				return
			}
			outcome = outcomeOf(page)
		}
		if outcome.allFailed() {
			writeError(w, r, in.logger, outcome.first)
			return
		}
		resp := imagesResponse{Registry: t.Registry, Repository: t.Repository, Images: make([]imageRow, 0, len(page))}
		for _, e := range page {
			switch {
			case e.err != nil:
				resp.Images = append(resp.Images, imageRow{Tag: e.tag, Digest: e.digest, Error: rowErrorOf(e.err)})
			case e.sum != nil:
				resp.Images = append(resp.Images, rowOf(e.tag, e.sum))
			}
		}
		if more {
			resp.Next = nextURL(t.repoRequest, tq.nextValues(page[len(page)-1].tag))
			setNextLink(w, resp.Next)
		}
		if outcome.failed == 0 {
			respondJSON(w, r, in.logger, resp, "", cacheControlShort)
			return
		}
		// No ETag and no-store: a client must not keep, or revalidate
		// into, an answer that the next request may complete.
		resp.Incomplete = true
		in.metrics.RowsFailed(outcome.failed)
		in.logger.WarnContext(ctx, "image table incomplete", "registry", t.Registry, "repository", t.Repository,
			"failed", outcome.failed, "described", outcome.described, "err", redact.Text(outcome.first.Error()))
		w.Header().Set("Cache-Control", cacheControlNone)
		setCacheStatus(w, r)
		encode(w, r, http.StatusOK, resp)
	})
}

// keepRow reports whether an entry with every row computed stays in the
// table: not a tag that vanished, and with digest= one that points at the
// digest or at an index that has it. A failed row stays only when its
// digest is known to be the one asked for.
func (tq tableQuery) keepRow(e *tableEntry) bool {
	switch {
	case e.err != nil:
		return tq.digest == "" || e.digest == tq.digest
	case e.sum == nil:
		return false
	}
	return tq.digest == "" || e.sum.has(tq.digest)
}

// sortEntries orders entries by order; ties and entries without the key
// (not a version, no date) keep the registry's order, the latter last.
func sortEntries(entries []*tableEntry, order string) {
	var key func(a, b *tableEntry) (int, bool)
	switch order {
	case sortSemver, sortSemverDesc:
		key = func(a, b *tableEntry) (int, bool) {
			if a.version == nil || b.version == nil {
				return 0, a.version == nil && b.version == nil
			}
			return a.version.Compare(b.version), true
		}
	case sortCreated, sortCreatedDesc:
		key = func(a, b *tableEntry) (int, bool) {
			ca, cb := a.created(), b.created()
			if ca.IsZero() || cb.IsZero() {
				return 0, ca.IsZero() && cb.IsZero()
			}
			return ca.Compare(cb), true
		}
	default:
		slices.SortStableFunc(entries, func(a, b *tableEntry) int { return cmp.Compare(a.pos, b.pos) })
		return
	}
	desc := order[0] == '-'
	slices.SortStableFunc(entries, func(a, b *tableEntry) int {
		c, both := key(a, b)
		if !both {
			// Exactly one has the key: it goes first.
			if hasKey(a, order) {
				return -1
			}
			return 1
		}
		if desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
}

func hasKey(e *tableEntry, order string) bool {
	if order == sortSemver || order == sortSemverDesc {
		return e.version != nil
	}
	return !e.created().IsZero()
}

// pageOf returns the limit entries after the one tagged last ("" is the
// start) and whether more follow.
func pageOf(entries []*tableEntry, last string, limit int) ([]*tableEntry, bool, error) {
	start := 0
	if last != "" {
		i := slices.IndexFunc(entries, func(e *tableEntry) bool { return e.tag == last })
		if i < 0 {
			return nil, false, errorf(codePaginationInvalid,
				"last %q is not in this table (deleted, or filtered out, since the previous page?): start again without last", truncate(last))
		}
		start = i + 1
	}
	end := min(start+limit, len(entries))
	return entries[start:end], end < len(entries), nil
}

// rowOf is the table row of tag at summary s.
func rowOf(tag string, s *imageSummary) imageRow {
	row := imageRow{Tag: tag, Digest: s.digest, MediaType: &s.mediaType, Created: formatCreated(s.created)}
	if s.hasSize {
		row.Size = &s.imgSize
	}
	if !s.isIndex() {
		if p := platformOf(s); p != nil {
			row.Platforms = []imagePlatform{*p}
		}
		return row
	}
	for _, c := range s.children {
		if isAttestation(c.platform) {
			continue
		}
		if p := platformOf(c); p != nil {
			row.Platforms = append(row.Platforms, *p)
		}
	}
	return row
}

// platformOf is the platform entry of an image summary, nil when nothing
// names its platform.
func platformOf(s *imageSummary) *imagePlatform {
	p := s.ownPlatform()
	if p == nil {
		return nil
	}
	ip := &imagePlatform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, Digest: s.digest, Created: formatCreated(s.created)}
	if s.hasSize {
		ip.Size = &s.imgSize
	}
	return ip
}
