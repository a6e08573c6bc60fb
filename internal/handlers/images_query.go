package handlers

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/regapi/regapi/internal/registry"
)

// Orders of the image table (?sort=).
const (
	sortName          = "name" // the registry's order
	sortSemver        = "semver"
	sortSemverDesc    = "-semver"
	sortCreated       = "created"
	sortCreatedDesc   = "-created"
	maxTablePattern   = 256 // bytes of an include= or exclude= expression
	maxTableSemverLen = 256 // bytes of a semver= constraint
)

// tableQuery is the parsed query of GET …/-/images.
type tableQuery struct {
	sort    string
	include *regexp.Regexp // nil: every tag
	exclude *regexp.Regexp // nil: none
	semver  *semver.Constraints
	digest  string // "": any
	limit   int
	last    string
	// raw keeps the parameters as given, for the next page's URL.
	raw url.Values
}

// tableParams are the query parameters the table reads.
var tableParams = []string{"sort", "include", "exclude", "semver", "digest", "limit", "last"}

// parseTableQuery reads and validates the table's query. Every value a
// caller sends is bounded before it is compiled: an RE2 expression runs in
// time linear in its input, but compiling a long one costs memory.
func parseTableQuery(q url.Values) (tableQuery, error) {
	tq := tableQuery{sort: sortName, raw: url.Values{}}
	for _, name := range tableParams {
		if vs := q[name]; len(vs) > 1 {
			return tableQuery{}, errorf(codeParameterInvalid, "%s given %d times: give it once", name, len(vs))
		} else if len(vs) == 1 && vs[0] != "" && name != "limit" && name != "last" {
			tq.raw.Set(name, vs[0])
		}
	}
	switch s := q.Get("sort"); s {
	case "", sortName:
	case sortSemver, sortSemverDesc, sortCreated, sortCreatedDesc:
		tq.sort = s
	default:
		return tableQuery{}, errorf(codeParameterInvalid, "invalid sort %q: want name, semver, -semver, created or -created", truncate(s))
	}
	var err error
	if tq.include, err = parseTagPattern("include", q.Get("include")); err != nil {
		return tableQuery{}, err
	}
	if tq.exclude, err = parseTagPattern("exclude", q.Get("exclude")); err != nil {
		return tableQuery{}, err
	}
	if s := q.Get("semver"); s != "" {
		if len(s) > maxTableSemverLen {
			return tableQuery{}, errorf(codeParameterInvalid, "semver constraint longer than %d bytes", maxTableSemverLen)
		}
		if tq.semver, err = semver.NewConstraint(s); err != nil {
			return tableQuery{}, errorf(codeParameterInvalid, "invalid semver constraint %q: want e.g. >=1.2 <2, ~1.4 or ^1", truncate(s))
		}
	}
	if d := q.Get("digest"); d != "" {
		if !registry.ValidDigest(d) {
			return tableQuery{}, errorf(codeDigestInvalid, "invalid digest %q: want sha256:<64 lowercase hex>", truncate(d))
		}
		tq.digest = d
	}
	if tq.limit, err = parseLimit(q.Get("limit")); err != nil {
		return tableQuery{}, err
	}
	tq.last = q.Get("last")
	if tq.last != "" && !registry.ValidTag(tq.last) {
		return tableQuery{}, errorf(codePaginationInvalid, "invalid last %q: want a tag", truncate(tq.last))
	}
	return tq, nil
}

// parseTagPattern compiles an include= or exclude= expression, anchored so
// that it matches the whole tag.
func parseTagPattern(name, s string) (*regexp.Regexp, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > maxTablePattern {
		return nil, errorf(codeParameterInvalid, "%s longer than %d bytes", name, maxTablePattern)
	}
	re, err := regexp.Compile(`^(?:` + s + `)$`)
	if err != nil {
		return nil, errorf(codeParameterInvalid, "invalid %s %q: want an RE2 expression", name, truncate(s))
	}
	return re, nil
}

// needsRows reports whether the query orders or filters by what only rows
// hold (the date, the digest), so that every tag's row must be computed;
// the others need only the tag list, and rows only for the page answered.
func (tq tableQuery) needsRows() bool {
	return tq.sort == sortCreated || tq.sort == sortCreatedDesc || tq.digest != ""
}

// keepName reports whether tag passes the filters that read only its name.
func (tq tableQuery) keepName(tag string) bool {
	if tq.include != nil && !tq.include.MatchString(tag) {
		return false
	}
	if tq.exclude != nil && tq.exclude.MatchString(tag) {
		return false
	}
	if tq.semver != nil {
		v := tagVersion(tag)
		return v != nil && tq.semver.Check(v)
	}
	return true
}

// tagVersion parses tag as a semantic version after an optional "v"
// (strictly: major.minor.patch, as semver.org defines it), or returns nil.
func tagVersion(tag string) *semver.Version {
	v, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v"))
	if err != nil {
		return nil
	}
	return v
}

// nextValues is the query of the page after last.
func (tq tableQuery) nextValues(last string) url.Values {
	q := url.Values{}
	for k, v := range tq.raw {
		q[k] = v
	}
	q.Set("limit", strconv.Itoa(tq.limit))
	q.Set("last", last)
	return q
}
