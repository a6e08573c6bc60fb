package handlers

import (
	"errors"
	"net/url"
	"testing"
)

// FuzzTableQuery feeds the image table's query parser arbitrary sort,
// include, exclude, semver and digest values: it must never panic, must
// accept only what it can answer, and its filters must hold a tag to the
// whole expression.
func FuzzTableQuery(f *testing.F) {
	f.Add("semver", "v1\\..*", ".*-rc.*", ">=1.2 <2", "", "1.2.3")
	f.Add("-created", "", "", "~1.4", "sha256:"+hex64('a'), "v1.4.9")
	f.Add("name", "(", "", "^1", "", "latest")
	f.Add("size", "a{1000}", "[", ">= <", "sha256:abc", "v1.2.3-rc.1")
	f.Fuzz(func(t *testing.T, sort, include, exclude, constraint, digest, tag string) {
		q := url.Values{"sort": {sort}, "include": {include}, "exclude": {exclude}, "semver": {constraint}, "digest": {digest}}
		tq, err := parseTableQuery(q)
		if err != nil {
			if ae := (*apiError)(nil); !errors.As(err, &ae) {
				t.Fatalf("parseTableQuery error %T %v, want an apiError", err, err)
			}
			return
		}
		switch tq.sort {
		case sortName, sortSemver, sortSemverDesc, sortCreated, sortCreatedDesc:
		default:
			t.Fatalf("parseTableQuery accepted sort %q", tq.sort)
		}
		if tq.limit < 1 || tq.limit > maxLimit {
			t.Fatalf("limit %d out of range", tq.limit)
		}
		if len(include) > maxTablePattern || len(exclude) > maxTablePattern || len(constraint) > maxTableSemverLen {
			t.Fatalf("parseTableQuery accepted an expression over its bound")
		}
		if digest != "" && tq.digest != digest {
			t.Fatalf("digest = %q, want %q", tq.digest, digest)
		}
		if tq.include != nil && tq.include.MatchString(tag) {
			if loc := tq.include.FindStringIndex(tag); loc == nil || loc[0] != 0 || loc[1] != len(tag) {
				t.Fatalf("include %q matched %q only at %v", include, tag, loc)
			}
		}
		kept := tq.keepName(tag)
		if kept && tq.semver != nil && tagVersion(tag) == nil {
			t.Fatalf("semver=%q kept %q, which is no version", constraint, tag)
		}
		if kept && tq.exclude != nil && tq.exclude.MatchString(tag) {
			t.Fatalf("exclude=%q kept %q", exclude, tag)
		}
		next, err := parseTableQuery(tq.nextValues("x"))
		if err != nil || next.sort != tq.sort || next.digest != tq.digest || next.last != "x" {
			t.Fatalf("the next page's query %v does not parse back: %v", tq.nextValues("x"), err)
		}
	})
}

func hex64(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
