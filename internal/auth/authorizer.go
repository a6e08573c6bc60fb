package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
)

// Authorizer authenticates requests against the configured tokens. It is
// safe for concurrent use and holds digests, never secrets.
type Authorizer struct {
	tokens    []token
	anonymous Principal
	allowAnon bool
	// compare is subtle.ConstantTimeCompare; tests wrap it to observe that
	// every token is compared on every lookup.
	compare func(x, y []byte) int
}

// token is a configured token: its secret's digest and who it makes the
// caller.
type token struct {
	digest    [sha256.Size]byte
	principal Principal
}

// tokenName is the shape of a token's name: it lands in logs, error
// messages and rate-limit keys, so plain and short.
var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// everything is the anonymous default: pull on every repository.
var everything = Scope{Registry: "*", Repositories: []string{"**"}, Actions: []Action{ActionPull}}

// New loads every token's secret (files are read, variables looked up
// through getenv) and compiles the scopes. Errors name the token at fault
// and never contain a secret.
func New(cfg Config, getenv func(string) string) (*Authorizer, error) {
	a := &Authorizer{allowAnon: cfg.AllowAnonymous, compare: subtle.ConstantTimeCompare}
	names := make(map[string]bool, len(cfg.Tokens))
	digests := make(map[[sha256.Size]byte]string, len(cfg.Tokens))
	for i, t := range cfg.Tokens {
		if t.Name == "" {
			return nil, fmt.Errorf("auth: token #%d has no name", i+1)
		}
		if !tokenName.MatchString(t.Name) {
			return nil, fmt.Errorf("auth: token #%d: name %q is invalid: use letters, digits and . _ - (at most 64 characters, starting with a letter or digit)", i+1, t.Name)
		}
		if t.Name == anonymousName {
			return nil, fmt.Errorf("auth: token name %q is reserved for callers without a token", t.Name)
		}
		if names[t.Name] {
			return nil, fmt.Errorf("auth: token %q is defined twice", t.Name)
		}
		names[t.Name] = true
		d, err := digestOf(t, getenv)
		if err != nil {
			return nil, fmt.Errorf("auth: token %q: %w", t.Name, err)
		}
		if other, dup := digests[d]; dup {
			return nil, fmt.Errorf("auth: tokens %q and %q have the same secret", other, t.Name)
		}
		digests[d] = t.Name
		if len(t.Scopes) == 0 {
			return nil, fmt.Errorf("auth: token %q has no scopes", t.Name)
		}
		p := Principal{name: t.Name}
		for _, s := range t.Scopes {
			c, err := compileScope(s, false)
			if err != nil {
				return nil, fmt.Errorf("auth: token %q: %w", t.Name, err)
			}
			p.scopes = append(p.scopes, c)
		}
		a.tokens = append(a.tokens, token{digest: d, principal: p})
	}
	anon := cfg.AnonymousScopes
	if len(anon) == 0 {
		anon = []Scope{everything}
	}
	a.anonymous = Principal{name: anonymousName, anonymous: true}
	for _, s := range anon {
		c, err := compileScope(s, true)
		if err != nil {
			return nil, fmt.Errorf("auth: anonymous_scopes: %w", err)
		}
		a.anonymous.scopes = append(a.anonymous.scopes, c)
	}
	return a, nil
}

// Authenticate identifies the caller from its Authorization header:
//   - no header: the anonymous Principal when anonymous access is allowed,
//     else ErrUnauthenticated;
//   - "Bearer <token>" with a configured token: that token's Principal;
//   - anything else (an unknown token, another scheme, a malformed or
//     repeated header): ErrUnauthenticated, even when anonymous access is
//     allowed, because a caller who sent a wrong credential should learn
//     so rather than be served as someone else.
func (a *Authorizer) Authenticate(r *http.Request) (Principal, error) {
	secret, present, err := bearerToken(r.Header)
	if err != nil {
		return Principal{}, err
	}
	if !present {
		if a.allowAnon {
			return a.anonymous, nil
		}
		return Principal{}, unauthenticated("authentication required: send Authorization: Bearer <token>")
	}
	p, ok := a.lookup(secret)
	if !ok {
		return Principal{}, unauthenticated("the bearer token is not one regapi knows")
	}
	return p, nil
}

// lookup finds the token whose digest is the secret's. It compares the
// digest with every configured token in constant time and selects the
// match without branching, so neither which token matched nor whether one
// did shows in the time taken. Comparing fixed-size digests also hides the
// presented secret's length.
func (a *Authorizer) lookup(secret string) (Principal, bool) {
	d := sha256.Sum256([]byte(secret))
	match := -1
	for i := range a.tokens {
		eq := a.compare(d[:], a.tokens[i].digest[:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match < 0 {
		return Principal{}, false
	}
	return a.tokens[match].principal, true
}

// bearerToken extracts the token from the Authorization header. present is
// false when there is no header (or only an empty one); err is
// ErrUnauthenticated when a header is there but not a single well-formed
// bearer credential. Neither the error nor anything else quotes the
// header's value.
func bearerToken(h http.Header) (secret string, present bool, err error) {
	vals := h.Values("Authorization")
	switch {
	case len(vals) == 0 || len(vals) == 1 && vals[0] == "":
		return "", false, nil
	case len(vals) > 1:
		return "", true, unauthenticated("more than one Authorization header")
	}
	if scheme, rest, _ := strings.Cut(vals[0], " "); strings.EqualFold(scheme, "Bearer") && strings.Trim(rest, " \t") == "" {
		// Most often an unset shell variable: "Bearer $TOKEN".
		return "", true, unauthenticated("the bearer token is empty: send Authorization: Bearer <token> (is the variable holding it set?)")
	}
	secret, ok := parseBearer(vals[0])
	if !ok {
		return "", true, unauthenticated("Authorization is not a well-formed bearer token: send Authorization: Bearer <token>")
	}
	return secret, true, nil
}

// parseBearer parses `Bearer <token>` (RFC 6750 section 2.1; the scheme is
// case-insensitive, RFC 9110 section 11.1). The token must be visible
// ASCII with no spaces; it is returned as sent.
func parseBearer(v string) (string, bool) {
	scheme, rest, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok := strings.Trim(rest, " \t")
	if tok == "" {
		return "", false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] >= 0x7f {
			return "", false
		}
	}
	return tok, true
}

// String describes the Authorizer without its digests.
func (a *Authorizer) String() string {
	return fmt.Sprintf("auth.Authorizer{tokens: %d, anonymous: %t}", len(a.tokens), a.allowAnon)
}

// LogValue logs the number of tokens and whether anonymous callers are
// allowed, never digests.
func (a *Authorizer) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("tokens", len(a.tokens)), slog.Bool("allow_anonymous", a.allowAnon))
}
