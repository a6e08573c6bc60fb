package auth

import (
	"fmt"
	"log/slog"
)

// anonymousName is the Principal name of callers without a token. Token
// names may not take it.
const anonymousName = "anonymous"

// Principal is an authenticated caller: a token's name and scopes, or the
// anonymous caller. The zero Principal may do nothing.
type Principal struct {
	name      string
	anonymous bool
	scopes    []scope
}

// Name is the token's name, or "anonymous"; fit for logs and metrics.
func (p Principal) Name() string { return p.name }

// Anonymous reports whether the caller sent no token.
func (p Principal) Anonymous() bool { return p.anonymous }

// String returns the name, so that a Principal printed anywhere shows
// nothing else.
func (p Principal) String() string { return p.name }

// LogValue logs the name and whether the caller is anonymous, never the
// scopes.
func (p Principal) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", p.name), slog.Bool("anonymous", p.anonymous))
}

// allows is the single gate every check goes through: push and admin are
// never anonymous, whatever the scopes say.
func (p Principal) allows(action Action) bool {
	return action.bit() != 0 && (!p.anonymous || action == ActionPull)
}

// anyPattern reports whether action is allowed at all and ok holds for a
// repository pattern of a scope granting action on registry: the loop
// behind Can, MayHaveUnder and Covers.
func (p Principal) anyPattern(action Action, registry string, ok func(pattern) bool) bool {
	if !p.allows(action) {
		return false
	}
	for _, s := range p.scopes {
		if !s.applies(action, registry) {
			continue
		}
		for _, r := range s.repos {
			if ok(r) {
				return true
			}
		}
	}
	return false
}

// Can reports whether the caller may perform action on the repository (a
// full path such as "team/app") of the named registry.
func (p Principal) Can(action Action, registry, repository string) bool {
	if registry == "" {
		return false
	}
	return p.anyPattern(action, registry, func(r pattern) bool { return r.match(repository) })
}

// Filter returns the repositories of repos the caller may perform action
// on, in order. It is for listings: callers only see what they may pull.
func (p Principal) Filter(action Action, registry string, repos []string) []string {
	out := make([]string, 0, len(repos))
	for _, r := range repos {
		if p.Can(action, registry, r) {
			out = append(out, r)
		}
	}
	return out
}

// MayHaveUnder reports whether any repository at or below prefix (a
// repository path; "" is the registry's root) could be one the caller may
// perform action on. A listing handler asks it before listing a subtree
// at all and to drop "prefixes" entries of a delimited listing; the names
// listed are then passed through Filter.
func (p Principal) MayHaveUnder(action Action, registry, prefix string) bool {
	if registry == "" {
		return false
	}
	return p.anyPattern(action, registry, func(r pattern) bool { return r.mayHaveUnder(prefix) })
}

// Covers reports whether the caller may perform action on every
// repository at or below prefix, including ones that do not exist yet.
// An empty registry means every registry, which only a scope for registry
// "*" covers; an empty prefix means the registry's root. Purging cache
// entries under a prefix asks Covers(ActionAdmin, registry, prefix).
func (p Principal) Covers(action Action, registry, prefix string) bool {
	return p.anyPattern(action, registry, func(r pattern) bool { return r.covers(prefix) })
}

// Check returns nil when the caller may perform action on the repository,
// ErrUnauthenticated when an anonymous caller may not (a token might
// help), and ErrDenied when a token's scopes do not cover it.
func (p Principal) Check(action Action, registry, repository string) error {
	if p.Can(action, registry, repository) {
		return nil
	}
	return p.refuse(action, registry+"/"+repository)
}

// CheckUnder is Check for listings: nil when MayHaveUnder holds.
func (p Principal) CheckUnder(action Action, registry, prefix string) error {
	if p.MayHaveUnder(action, registry, prefix) {
		return nil
	}
	return p.refuse(action, registry+"/"+prefix)
}

// CheckCovers is Check for operations on a whole subtree: nil when Covers
// holds.
func (p Principal) CheckCovers(action Action, registry, prefix string) error {
	if p.Covers(action, registry, prefix) {
		return nil
	}
	target := registry
	if target == "" {
		target = "every registry"
	}
	if prefix != "" {
		target += "/" + prefix
	}
	return p.refuse(action, target)
}

// CheckSome returns nil when the caller may perform action on some
// repository of some registry, else what Check would: a route that learns
// its targets from the request body asks it before reading the body.
func (p Principal) CheckSome(action Action) error {
	if p.allows(action) {
		for _, s := range p.scopes {
			if s.grants&action.bit() != 0 {
				return nil
			}
		}
	}
	return p.refuse(action, "any repository")
}

func (p Principal) refuse(action Action, target string) error {
	if p.anonymous || p.name == "" {
		return fmt.Errorf("%w: %s on %s requires a token", ErrUnauthenticated, action, target)
	}
	return fmt.Errorf("%w: token %q may not %s %s", ErrDenied, p.name, action, target)
}
