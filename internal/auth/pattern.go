package auth

import (
	"fmt"
	"strings"
)

// maxPatternLen bounds a pattern's length. OCI names are at most 255
// characters in practice (distribution rejects longer ones), and the bound
// keeps matching cost trivially small.
const maxPatternLen = 512

// pattern is a compiled repository glob (see the package documentation):
// its components, with each run of "**" collapsed into one.
type pattern struct {
	text  string
	parts []string
}

// compilePattern validates s and splits it into components.
func compilePattern(s string) (pattern, error) {
	if s == "" {
		return pattern{}, fmt.Errorf("empty repository pattern")
	}
	if len(s) > maxPatternLen {
		return pattern{}, fmt.Errorf("repository pattern longer than %d characters", maxPatternLen)
	}
	var parts []string
	for c := range strings.SplitSeq(s, "/") {
		if err := checkComponentGlob(c); err != nil {
			return pattern{}, fmt.Errorf("repository pattern %q: %w", s, err)
		}
		if c == "**" && len(parts) > 0 && parts[len(parts)-1] == "**" {
			continue // "**/**" matches exactly what "**" does
		}
		parts = append(parts, c)
	}
	return pattern{text: s, parts: parts}, nil
}

// checkComponentGlob accepts "**" or a non-empty run of the characters of
// an OCI path component ([a-z0-9._-]) and "*".
func checkComponentGlob(c string) error {
	if c == "" {
		return fmt.Errorf("empty path component")
	}
	if c == "**" {
		return nil
	}
	if strings.Contains(c, "**") {
		return fmt.Errorf("%q: ** must be a whole path component", c)
	}
	for i := 0; i < len(c); i++ {
		if !isNameChar(c[i]) && c[i] != '*' {
			return fmt.Errorf("%q: character %q cannot occur in a repository name", c, c[i])
		}
	}
	return nil
}

// isNameChar reports whether b may occur in an OCI repository path
// component.
func isNameChar(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-'
}

// splitName splits a repository path into components; ok is false when the
// path is empty or has an empty component ("a//b", "/a", "a/").
func splitName(name string) (parts []string, ok bool) {
	if name == "" {
		return nil, false
	}
	parts = strings.Split(name, "/")
	for _, p := range parts {
		if p == "" {
			return nil, false
		}
	}
	return parts, true
}

// reach runs the pattern's first n components over name and returns, for
// each j in 0..len(name), whether those components match name[:j] exactly.
// It is the usual dynamic programme over (pattern position, name position),
// so the cost is O(len(pattern) * len(name)) component matches with no
// backtracking blow-up however many "**" a pattern has. visit, when not
// nil, sees the row after each component and stops the run by returning
// true.
func (p pattern) reach(n int, name []string, visit func(row []bool) bool) []bool {
	cur := make([]bool, len(name)+1)
	next := make([]bool, len(name)+1)
	cur[0] = true
	if visit != nil && visit(cur) {
		return cur
	}
	for _, part := range p.parts[:n] {
		if part == "**" {
			// Zero or more components: next[j] = any cur[k] for k <= j.
			seen := false
			for j := range cur {
				seen = seen || cur[j]
				next[j] = seen
			}
		} else {
			next[0] = false
			for j := range name {
				next[j+1] = cur[j] && matchComponent(part, name[j])
			}
		}
		cur, next = next, cur
		if visit != nil && visit(cur) {
			break
		}
	}
	return cur
}

// match reports whether the pattern matches the whole repository path.
func (p pattern) match(name string) bool {
	parts, ok := splitName(name)
	if !ok {
		return false
	}
	return p.reach(len(p.parts), parts, nil)[len(parts)]
}

// mayHaveUnder reports whether some repository at or below prefix could
// match the pattern; prefix "" is the registry's root. It over-approximates
// (it assumes the rest of the pattern can always be satisfied), which is
// the safe direction for deciding whether a subtree is worth listing: the
// listing is filtered name by name afterwards.
func (p pattern) mayHaveUnder(prefix string) bool {
	var parts []string
	if prefix != "" {
		var ok bool
		if parts, ok = splitName(prefix); !ok {
			return false
		}
	}
	// Some leading part of the pattern must consume exactly the prefix.
	found := false
	p.reach(len(p.parts), parts, func(row []bool) bool {
		found = row[len(parts)]
		return found
	})
	return found
}

// covers reports whether the pattern matches every repository at or below
// prefix ("" is the whole registry). It is conservative, which is the safe
// direction for granting an operation on a whole subtree: it holds when the
// pattern ends in "**" and the part before that matches an ancestor-or-self
// of prefix ("team/**" covers "team" and "team/a"; "**" covers everything).
// Patterns that say the same in other words ("*/**" for the root) do not
// count.
func (p pattern) covers(prefix string) bool {
	last := len(p.parts) - 1
	if last < 0 || p.parts[last] != "**" {
		return false
	}
	var parts []string
	if prefix != "" {
		var ok bool
		if parts, ok = splitName(prefix); !ok {
			return false
		}
	}
	// If the head matches an ancestor-or-self of prefix, the trailing "**"
	// absorbs everything after it.
	for _, ok := range p.reach(last, parts, nil) {
		if ok {
			return true
		}
	}
	return false
}

// matchComponent matches one component against a glob where "*" matches
// any run of characters. It is the classic linear-space wildcard matcher:
// on a mismatch it resumes from the last "*", so it never recurses.
func matchComponent(glob, s string) bool {
	gi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case gi < len(glob) && glob[gi] == '*':
			star, mark = gi, si
			gi++
		case gi < len(glob) && glob[gi] == s[si]:
			gi++
			si++
		case star >= 0:
			mark++
			gi, si = star+1, mark
		default:
			return false
		}
	}
	for gi < len(glob) && glob[gi] == '*' {
		gi++
	}
	return gi == len(glob)
}
