package registry

import (
	"regexp"
	"strings"
	"testing"
)

// The grammars of the hand-written matchers in names.go as regexps, the
// oracle: each matcher must accept exactly the language of its
// expression. (This package's path component expression spells the
// separators `\.|_|__|-+`, the handlers' `[._]|__|-+`; the languages are
// the same, and each package is checked against its own.)
var (
	oraclePathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$`)
	oracleTagPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
	oracleDigestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// nameMatchers pairs each matcher with its oracle.
var nameMatchers = []struct {
	name   string
	match  func(string) bool
	oracle *regexp.Regexp
}{
	{"pathComponent", ValidPathComponent, oraclePathComponent},
	{"tag", ValidTag, oracleTagPattern},
	{"digest", ValidDigest, oracleDigestPattern},
	{"digest", ValidDigest, oracleDigestPattern},
}

// nameMatchCases are the edge cases of the three grammars: empty, each
// length limit and one past it, leading, trailing and doubled separators,
// case, non-ASCII, invalid UTF-8 and NUL bytes.
func nameMatchCases() []string {
	cases := []string{
		"", "a", "A", "z", "Z", "0", "9", "_", ".", "-", "/", ":", "@",
		"latest", "v1.2.3", "v1.27.3-alpine3.19", "library", "alpine", "api-server", "api_server", "api__server", "api.server", "api--server",
		// Separators.
		"a.b", "a_b", "a__b", "a___b", "a____b", "a-b", "a--b", "a---b", "a..b", "a.-b", "a-.b", "a._b", "a_.b",
		"a-_b", "a_-b", "a__.b", "a.__b", "a__-b", "a-__b", "a_b_c", "a.b.c", "a-b-c", "a__b__c", "a__b_c",
		".a", "_a", "-a", "__a", "--a", "a.", "a_", "a-", "a__", "a--", "a.b.", "a_b_", "._", "__", "--", "...",
		// Case.
		"aB", "Ab", "ABC", "A.B", "A_b", "_A", "abcdefABCDEF",
		// Other bytes, non-ASCII and invalid UTF-8.
		"a/b", "a:b", "a@b", "a b", " a", "a ", "a\n", "\na", "a\nb", "a\r\n", "a\t", "a+b", "a~b", "a%2fb",
		"é", "aé", "éa", "a\u212a", "\u212a", "ａ", "a\u00a0", "\xff", "a\xff", "\xffa", "a\xffb", "\xc3", "a\xc3",
		"\x00", "a\x00", "\x00a", "a\x00b", "_\x00", strings.Repeat("\x00", 64),
	}
	// Lengths around the tag's limit of 128, for each kind of first
	// character.
	for _, n := range []int{1, 2, 127, 128, 129, 256} {
		cases = append(cases,
			strings.Repeat("a", n),
			strings.Repeat("F", n),
			"_"+strings.Repeat("a", n-1),
			"A"+strings.Repeat("-", n-1),
			"a"+strings.Repeat(".", n-1),
			strings.Repeat("a", n-1)+"-",
			strings.Repeat("ab-", n)[:n],
			strings.Repeat("a.", n)[:n],
			strings.Repeat("a__", n)[:n],
			strings.Repeat("é", n),
			strings.Repeat("a", n-1)+"é",
			strings.Repeat("a", n-1)+"\x00",
		)
	}
	// Digests: the right shape, and one thing wrong with it.
	hex := strings.Repeat("0123456789abcdef", 4)
	cases = append(cases, []string{
		"sha256:" + hex,
		"sha256:" + strings.ToUpper(hex),
		"sha256:" + hex[:63],
		"sha256:" + hex + "0",
		"sha256:g" + hex[1:],
		"sha256:" + hex[:63] + "g",
		"sha256:" + hex[:63] + "\x00",
		"sha256:" + hex + "\n",
		"sha256:", "sha256", "sha256" + hex, "sha256:" + hex[:32] + ":" + hex[33:],
		"@sha256:" + hex,
		" sha256:" + hex,
		"SHA256:" + hex,
		"sha512:" + hex + hex,
		"sha256:sha256:" + hex,
		"sha256:" + strings.Repeat("0", 64),
		"sha256:" + strings.Repeat("f", 64),
		hex,
	}...)
	return cases
}

// TestNameMatchersAgreeWithRegexps checks every matcher against its
// oracle on the edge cases.
func TestNameMatchersAgreeWithRegexps(t *testing.T) {
	for _, m := range nameMatchers {
		t.Run(m.name, func(t *testing.T) {
			var accepted, refused int
			for _, s := range nameMatchCases() {
				got, want := m.match(s), m.oracle.MatchString(s)
				if got != want {
					t.Errorf("%s(%q) = %v, regexp %s says %v", m.name, s, got, m.oracle, want)
				}
				if want {
					accepted++
				} else {
					refused++
				}
			}
			// The table must exercise both answers.
			if accepted == 0 || refused == 0 {
				t.Errorf("%s: the table has %d accepted and %d refused cases; want some of each", m.name, accepted, refused)
			}
		})
	}
}

// fuzzNameMatch fuzzes match against oracle from the edge cases.
func fuzzNameMatch(f *testing.F, match func(string) bool, oracle *regexp.Regexp) {
	for _, s := range nameMatchCases() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := match(s), oracle.MatchString(s); got != want {
			t.Fatalf("matcher(%q) = %v, regexp %s says %v", s, got, oracle, want)
		}
	})
}

func FuzzPathComponentMatch(f *testing.F) {
	fuzzNameMatch(f, ValidPathComponent, oraclePathComponent)
}

func FuzzTagMatch(f *testing.F) {
	fuzzNameMatch(f, ValidTag, oracleTagPattern)
}

func FuzzDigestMatch(f *testing.F) {
	fuzzNameMatch(f, ValidDigest, oracleDigestPattern)
}

// BenchmarkNameMatch validates what a typical request names, a nested
// repository path and a tag, with the oracle regexps and with the matchers.
func BenchmarkNameMatch(b *testing.B) {
	const (
		repo = "acme-corp/platform/backend/api_server"
		tag  = "v1.27.3-alpine3.19"
	)
	components := strings.Split(repo, "/")
	b.Run("regexp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ok := true
			for _, c := range components {
				ok = ok && oraclePathComponent.MatchString(c)
			}
			if !ok || oracleDigestPattern.MatchString(tag) || !oracleTagPattern.MatchString(tag) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("matcher", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ok := true
			for _, c := range components {
				ok = ok && ValidPathComponent(c)
			}
			if !ok || ValidDigest(tag) || !ValidTag(tag) {
				b.Fatal("refused")
			}
		}
	})
}
