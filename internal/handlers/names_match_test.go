package handlers

import (
	"regexp"
	"strings"
	"testing"
)

// The grammars of the hand-written matchers in repopath.go as regexps, the
// oracle: each matcher must accept exactly the language of its
// expression. The OCI grammars (path components, tags, digests) are the
// registry package's and are checked there.
var (
	oracleRegistryNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	oraclePlatformPartRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)
)

// nameMatchers pairs each of the handlers' own matchers with its oracle.
var nameMatchers = []struct {
	name   string
	match  func(string) bool
	oracle *regexp.Regexp
}{
	{"registryName", validRegistryName, oracleRegistryNameRE},
	{"platformPart", validPlatformPart, oraclePlatformPartRE},
}

// nameMatchCases are the edge cases of the grammars: empty, each
// length limit and one past it, leading, trailing and doubled separators,
// case, non-ASCII, invalid UTF-8 and NUL bytes.
func nameMatchCases() []string {
	cases := []string{
		"", "a", "A", "z", "Z", "0", "9", "_", ".", "-", "/", ":", "@",
		"latest", "v1.2.3", "v1.27.3-alpine3.19", "linux", "amd64", "arm64", "v8", "docker.io", "ghcr.io", "my-registry_1",
		"library", "alpine", "api-server", "api_server", "api__server", "api.server", "api--server",
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
	// Lengths around every limit: 32 (platform part), 64 (registry name,
	// sha256 hex) and 128 (tag), for each kind of first character.
	for _, n := range []int{1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 256} {
		cases = append(cases,
			strings.Repeat("a", n),
			strings.Repeat("0", n),
			strings.Repeat("f", n),
			strings.Repeat("F", n),
			strings.Repeat("g", n),
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
	// Hex: the right length with one bad character, at either end.
	hex := strings.Repeat("0123456789abcdef", 4)
	cases = append(cases, hex, strings.ToUpper(hex), "g"+hex[1:], hex[:63]+"g", hex[:63]+"A", hex+"\n", hex[:63], hex+"0")
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

func FuzzRegistryNameMatch(f *testing.F) {
	fuzzNameMatch(f, validRegistryName, oracleRegistryNameRE)
}

func FuzzPlatformPartMatch(f *testing.F) {
	fuzzNameMatch(f, validPlatformPart, oraclePlatformPartRE)
}
