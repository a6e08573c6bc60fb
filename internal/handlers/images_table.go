package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/Masterminds/semver/v3"

	"github.com/regapi/regapi/internal/registry"
)

// imagesResponse is the answer of GET …/-/images.
type imagesResponse struct {
	Registry   string     `json:"registry"`
	Repository string     `json:"repository"`
	Images     []imageRow `json:"images"`
	Next       string     `json:"next,omitempty"`
}

// imageRow is one tag of the table.
type imageRow struct {
	Tag       string `json:"tag"`
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Created   string `json:"created,omitempty"`
	// Size is absent for an index: each platform downloads its own (see
	// Platforms).
	Size      *int64          `json:"size,omitempty"`
	Platforms []imagePlatform `json:"platforms,omitempty"`
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
// registry's order and, once computed, its summary.
type tableEntry struct {
	tag     string
	pos     int
	version *semver.Version
	sum     *imageSummary // nil until computed, or when the tag vanished
}

// handleImageTable serves GET …/-/images?sort=&include=&exclude=&semver=&digest=&limit=&last=:
// one row per tag with its digest, media type, date, size and platforms,
// sorted and filtered, one page at a time.
//
// Sorting by name or version and filtering by name read only the tag list:
// rows are then computed for the page answered. Sorting by date and
// filtering by digest need every row, so a repository with more matching
// tags than Images.MaxRows answers 400 TOO_MANY_TAGS for them.
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
			entries = slices.DeleteFunc(entries, func(e *tableEntry) bool {
				return e.sum == nil || tq.digest != "" && !e.sum.has(tq.digest)
			})
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
		}
		resp := imagesResponse{Registry: t.Registry, Repository: t.Repository, Images: make([]imageRow, 0, len(page))}
		for _, e := range page {
			if e.sum != nil {
				resp.Images = append(resp.Images, rowOf(e.tag, e.sum))
			}
		}
		if more {
			resp.Next = nextURL(t.repoRequest, tq.nextValues(page[len(page)-1].tag))
			setNextLink(w, resp.Next)
		}
		respondJSON(w, r, in.logger, resp, "", cacheControlShort)
	})
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
			if a.sum.created.IsZero() || b.sum.created.IsZero() {
				return 0, a.sum.created.IsZero() && b.sum.created.IsZero()
			}
			return a.sum.created.Compare(b.sum.created), true
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
	return !e.sum.created.IsZero()
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
	row := imageRow{Tag: tag, Digest: s.digest, MediaType: s.mediaType, Created: formatCreated(s.created)}
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

// summarizeEntries fills in each entry's summary: the digest its tag points
// at, by HEAD (the cache remembers it for the tag TTL), then one summary per
// distinct digest (manifests and configs by digest, cached for good). A HEAD
// rather than a GET by tag: registries such as Docker Hub count manifest
// GETs, not HEADs, against their pull limits, so a tag costs a pull only
// for a digest never seen, and aliases share it.
// Work is bounded per upstream by in.slots. A tag deleted since the tag
// list was read is left without a summary and so without a row.
func (in *insight) summarizeEntries(ctx context.Context, t repoTarget, entries []*tableEntry) error {
	c := t.client()
	digests := make([]string, len(entries))
	err := in.each(ctx, t.Registry, len(entries), func(ctx context.Context, i int) error {
		h, err := c.GetDigest(ctx, entries[i].tag)
		if errors.Is(err, registry.ErrImageNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("get digest of %s: %w", entries[i].tag, err)
		}
		digests[i] = h.String()
		return nil
	})
	if err != nil {
		return err
	}
	var unique []string
	seen := map[string]bool{}
	for _, d := range digests {
		if d != "" && !seen[d] {
			seen[d] = true
			unique = append(unique, d)
		}
	}
	sums := make([]*imageSummary, len(unique))
	err = in.each(ctx, t.Registry, len(unique), func(ctx context.Context, i int) error {
		s, err := in.summary(ctx, t, unique[i])
		sums[i] = s
		return err
	})
	if err != nil {
		return err
	}
	by := make(map[string]*imageSummary, len(unique))
	for i, d := range unique {
		by[d] = sums[i]
	}
	for i, e := range entries {
		e.sum = by[digests[i]]
	}
	return nil
}
