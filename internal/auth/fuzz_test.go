package auth

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// refMatch is an independent, deliberately naive matcher: recursion over
// components with "**" tried at every length, each component glob turned
// into an anchored regular expression. Exponential, so the fuzz target
// only consults it on short inputs.
func refMatch(parts, name []string) bool {
	res := make([]*regexp.Regexp, len(parts))
	for i, c := range parts {
		q := strings.Split(c, "*")
		for j := range q {
			q[j] = regexp.QuoteMeta(q[j])
		}
		res[i] = regexp.MustCompile("^" + strings.Join(q, "[^/]*") + "$")
	}
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		if i == len(parts) {
			return j == len(name)
		}
		if parts[i] == "**" {
			for k := j; k <= len(name); k++ {
				if rec(i+1, k) {
					return true
				}
			}
			return false
		}
		return j < len(name) && res[i].MatchString(name[j]) && rec(i+1, j+1)
	}
	return rec(0, 0)
}

// small bounds the inputs the exponential reference and the quadratic
// consistency checks are run on; the code under test runs on every input.
const small = 8

// FuzzPatternMatch checks that compiling and matching never panic, that
// match agrees with the reference matcher, and that mayHaveUnder and
// covers are consistent with match: every ancestor of a matched name may
// have something under it, and a covered prefix is itself matched, as is
// a child of it.
func FuzzPatternMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"library/*", "library/alpine"},
		{"team/**", "team"},
		{"team/**", "team/a/b"},
		{"**", "a/b/c"},
		{"**/cache", "x/y/cache"},
		{"a/**/b", "a/x/y/b"},
		{"a/*/c/**", "a/b/c/d"},
		{"a*b*c", "axxbyyc"},
		{"**/x/**", "a/x/b"},
		{"*", ""},
		{"a//b", "a//b"},
		{"**/**/*", "a"},
		{"x*", "x/"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, name string) {
		p, err := compilePattern(pat)
		if err != nil {
			return
		}
		got := p.match(name)
		parts, valid := splitName(name)
		if !valid && got {
			t.Fatalf("pattern %q matched invalid name %q", pat, name)
		}
		if !valid || len(p.parts) > small || len(parts) > small {
			return
		}
		{
			if want := refMatch(p.parts, parts); got != want {
				t.Fatalf("pattern %q match(%q) = %v, reference says %v", pat, name, got, want)
			}
		}
		if !strings.ContainsRune(pat, '*') && got != (pat == name) {
			t.Fatalf("literal pattern %q match(%q) = %v", pat, name, got)
		}
		for i := 0; i <= len(parts); i++ {
			prefix := strings.Join(parts[:i], "/")
			if got && !p.mayHaveUnder(prefix) {
				t.Fatalf("pattern %q matches %q but mayHaveUnder(%q) = false", pat, name, prefix)
			}
			if p.covers(prefix) {
				if prefix != "" && !p.match(prefix) {
					t.Fatalf("pattern %q covers(%q) but does not match it", pat, prefix)
				}
				if !p.match(name) {
					t.Fatalf("pattern %q covers(%q) but does not match %q under it", pat, prefix, name)
				}
			}
		}
	})
}

// FuzzParseBearer checks that parsing any Authorization value never
// panics, that an accepted token is non-empty visible ASCII found at the
// value's end and survives a round trip, and that Authenticate only ever
// yields a token's principal for that token's exact secret.
func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{
		"Bearer abc", "bearer abc", "Bearer  abc  ", "Bearer", "Bearer ", "Basic abc", "Bearer a b",
		"Bearer \x00", "Bearer ü", " Bearer abc", "Bearer " + readerSecret, "Bearer " + readerSecret + "\t",
		"BEARER " + ciSecret, "",
	} {
		f.Add(s)
	}
	a, err := New(Config{AllowAnonymous: true, Tokens: []Token{
		{Name: "reader", SHA256: hexDigest(readerSecret), Scopes: []Scope{
			{Registry: "hub", Repositories: []string{"**"}, Actions: []Action{ActionPull}},
		}},
	}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, ok := parseBearer(v)
		if ok {
			if tok == "" {
				t.Fatalf("parseBearer(%q) accepted an empty token", v)
			}
			for i := 0; i < len(tok); i++ {
				if tok[i] <= ' ' || tok[i] >= 0x7f {
					t.Fatalf("parseBearer(%q) = %q with byte %#x", v, tok, tok[i])
				}
			}
			if !strings.HasSuffix(strings.TrimRight(v, " \t"), tok) {
				t.Fatalf("parseBearer(%q) = %q, not the value's end", v, tok)
			}
			if again, ok := parseBearer("Bearer " + tok); !ok || again != tok {
				t.Fatalf("parseBearer(Bearer %q) = %q, %t, want the token back", tok, again, ok)
			}
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Authorization"] = []string{v}
		p, err := a.Authenticate(r)
		switch {
		case err == nil && p.Name() == "reader" && tok != readerSecret:
			t.Fatalf("Authenticate(%q) = reader without its secret", v)
		case err == nil && p.Anonymous() && v != "":
			t.Fatalf("Authenticate(%q) = anonymous for a non-empty Authorization", v)
		}
	})
}
