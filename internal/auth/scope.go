package auth

import (
	"fmt"
	"strings"
)

// scope is a compiled Scope.
type scope struct {
	registry string // a component glob; "*" is every registry
	repos    []pattern
	grants   grant // with implied actions included
}

// compileScope validates s. pullOnly rejects push and admin (anonymous
// scopes).
func compileScope(s Scope, pullOnly bool) (scope, error) {
	if s.Registry == "" {
		return scope{}, fmt.Errorf("scope without registry (use \"*\" for every registry)")
	}
	if strings.Contains(s.Registry, "**") || strings.Contains(s.Registry, "/") {
		return scope{}, fmt.Errorf("registry %q: a registry is one name or a glob such as \"*\"", s.Registry)
	}
	if err := checkComponentGlob(s.Registry); err != nil {
		return scope{}, fmt.Errorf("registry %q: %w", s.Registry, err)
	}
	if len(s.Repositories) == 0 {
		return scope{}, fmt.Errorf("registry %q: scope without repositories (use \"**\" for every repository)", s.Registry)
	}
	if len(s.Actions) == 0 {
		return scope{}, fmt.Errorf("registry %q: scope without actions (pull, push or admin)", s.Registry)
	}
	c := scope{registry: s.Registry}
	for _, r := range s.Repositories {
		p, err := compilePattern(r)
		if err != nil {
			return scope{}, fmt.Errorf("registry %q: %w", s.Registry, err)
		}
		c.repos = append(c.repos, p)
	}
	for _, a := range s.Actions {
		if a.bit() == 0 {
			return scope{}, fmt.Errorf("registry %q: unknown action %q (want pull, push or admin)", s.Registry, a)
		}
		if pullOnly && a != ActionPull {
			return scope{}, fmt.Errorf("registry %q: action %q is never granted to anonymous callers", s.Registry, a)
		}
		c.grants |= a.implied()
	}
	return c, nil
}

// applies reports whether the scope grants action on registry. An empty
// registry asks for every registry at once, which only the "*" glob
// grants.
func (s scope) applies(action Action, registry string) bool {
	bit := action.bit()
	if bit == 0 || s.grants&bit == 0 {
		return false
	}
	if registry == "" {
		return s.registry == "*"
	}
	return matchComponent(s.registry, registry)
}
