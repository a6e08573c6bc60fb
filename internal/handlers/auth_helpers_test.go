package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/regapi/regapi/internal/auth"
)

// adminToken is the token openAuth grants admin on everything.
const adminToken = "test-admin-token-0123456789abcdef"

// openAuth allows anonymous pulls and gives adminToken admin on every
// repository of every registry.
func openAuth(tb testing.TB) *auth.Authorizer {
	tb.Helper()
	return newAuth(tb, auth.Config{AllowAnonymous: true, Tokens: []auth.Token{
		tokenFor("admin", adminToken, auth.Scope{Registry: "*", Repositories: []string{"**"}, Actions: []auth.Action{auth.ActionAdmin}}),
	}})
}

// newAuth is auth.New failing the test on error.
func newAuth(tb testing.TB, cfg auth.Config) *auth.Authorizer {
	tb.Helper()
	a, err := auth.New(cfg, func(string) string { return "" })
	if err != nil {
		tb.Fatalf("auth.New: %v", err)
	}
	return a
}

// tokenFor configures a token by its secret's SHA-256.
func tokenFor(name, secret string, scopes ...auth.Scope) auth.Token {
	sum := sha256.Sum256([]byte(secret))
	return auth.Token{Name: name, SHA256: hex.EncodeToString(sum[:]), Scopes: scopes}
}
