package auth

import (
	"strings"
	"testing"
)

func mustPattern(t *testing.T, s string) pattern {
	t.Helper()
	p, err := compilePattern(s)
	if err != nil {
		t.Fatalf("compilePattern(%q) = %v", s, err)
	}
	return p
}

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"library/alpine", "library/alpine", true},
		{"library/alpine", "library/alpine2", false},
		{"library/alpine", "library", false},
		{"library/alpine", "x/library/alpine", false}, // anchored at the start
		{"library/*", "library/alpine", true},
		{"library/*", "library/alpine/edge", false}, // * stays in its component
		{"library/*", "library", false},
		{"*", "alpine", true},
		{"*", "library/alpine", false},
		{"app-*", "app-web", true},
		{"app-*", "app-", true},
		{"app-*", "web-app", false},
		{"*-web", "app-web", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"team/**", "team", true}, // ** matches zero components
		{"team/**", "team/a", true},
		{"team/**", "team/a/b/c", true},
		{"team/**", "teams/a", false},
		{"team/**", "other/team/a", false},
		{"**", "a", true},
		{"**", "a/b/c/d", true},
		{"**/cache", "cache", true},
		{"**/cache", "x/y/cache", true},
		{"**/cache", "x/cache/y", false},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "a/x/y/c", false},
		{"a/*/c/**", "a/b/c", true},
		{"a/*/c/**", "a/b/c/d/e", true},
		{"a/*/c/**", "a/b/x/c", false},
		{"**/**/x", "x", true},
		{"**/x/**", "a/x/b", true},
		// Names the handlers would reject never match.
		{"**", "", false},
		{"**", "a//b", false},
		{"**", "/a", false},
		{"team/**", "team/", false},
		{"*", "", false},
	}
	for _, tt := range tests {
		p := mustPattern(t, tt.pattern)
		if got := p.match(tt.name); got != tt.want {
			t.Errorf("pattern %q match(%q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestPatternMayHaveUnder(t *testing.T) {
	tests := []struct {
		pattern, prefix string
		want            bool
	}{
		{"team/**", "", true},
		{"team/**", "team", true},
		{"team/**", "team/a/b", true},
		{"team/**", "other", false},
		{"library/*", "library", true},
		{"library/*", "library/alpine", true},
		{"library/*", "library/alpine/x", false}, // nothing deeper matches
		{"library/*", "lib", false},
		{"**/cache", "x/y", true}, // x/y/cache may exist
		{"a/*/c/**", "a", true},
		{"a/*/c/**", "a/b", true},
		{"a/*/c/**", "a/b/d", false},
		{"a/*/c/**", "b", false},
		{"*", "", true},
		{"*", "a", true},
		{"*", "a/b", false},
		{"x", "a//b", false},
	}
	for _, tt := range tests {
		p := mustPattern(t, tt.pattern)
		if got := p.mayHaveUnder(tt.prefix); got != tt.want {
			t.Errorf("pattern %q mayHaveUnder(%q) = %v, want %v", tt.pattern, tt.prefix, got, tt.want)
		}
	}
}

func TestPatternCovers(t *testing.T) {
	tests := []struct {
		pattern, prefix string
		want            bool
	}{
		{"**", "", true},
		{"**", "a/b", true},
		{"team/**", "", false}, // other top-level names exist
		{"team/**", "team", true},
		{"team/**", "team/a", true},
		{"team/**", "teams", false},
		// Conservative: every name has a first component so this could
		// hold, but only a head that matches an ancestor-or-self of the
		// prefix counts. Write "**" to cover a whole registry.
		{"*/**", "", false},
		{"*/**", "x", true},
		{"library/*", "library", false}, // library/a/b is not matched
		{"library/alpine", "library/alpine", false},
		{"**/cache/**", "x/cache", true},
		{"**/cache/**", "x", false},
		{"a/*/c/**", "a/b/c/d", true},
		{"a/*/c/**", "a/b", false},
	}
	for _, tt := range tests {
		p := mustPattern(t, tt.pattern)
		if got := p.covers(tt.prefix); got != tt.want {
			t.Errorf("pattern %q covers(%q) = %v, want %v", tt.pattern, tt.prefix, got, tt.want)
		}
	}
}

func TestCompilePatternRejects(t *testing.T) {
	for _, s := range []string{
		"", "/", "a/", "/a", "a//b", "a**", "**b", "a/b**/c", "Library/alpine", "a b", "a/b?", "a:b",
		strings.Repeat("a", maxPatternLen+1),
	} {
		if _, err := compilePattern(s); err == nil {
			t.Errorf("compilePattern(%q) = nil error, want one", s)
		}
	}
}

func TestCompilePatternCollapsesDoubleStars(t *testing.T) {
	p := mustPattern(t, "a/**/**/**/b")
	if got, want := strings.Join(p.parts, "/"), "a/**/b"; got != want {
		t.Errorf("compilePattern(a/**/**/**/b).parts = %q, want %q", got, want)
	}
}

func TestMatchComponent(t *testing.T) {
	tests := []struct {
		glob, s string
		want    bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"a", "a", true},
		{"a", "b", false},
		{"a*", "abc", true},
		{"*c", "abc", true},
		{"*b*", "abc", true},
		{"*x*", "abc", false},
		{"a*a*a", "aaaa", true},
		{"a*a*a", "aa", false},
		{"*.*.*", "1.2.3", true},
	}
	for _, tt := range tests {
		if got := matchComponent(tt.glob, tt.s); got != tt.want {
			t.Errorf("matchComponent(%q, %q) = %v, want %v", tt.glob, tt.s, got, tt.want)
		}
	}
}
