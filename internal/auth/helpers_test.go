package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// Secrets of the test tokens. Each is long enough for minSecretLen.
const (
	readerSecret = "reader-0123456789abcdef"
	ciSecret     = "ci-0123456789abcdef"
	opsSecret    = "ops-0123456789abcdef"
	nestedSecret = "nested-0123456789abcdef"
	rootSecret   = "root-0123456789abcdef"
)

func hexDigest(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:])
}

// writeSecret writes a secret file with a trailing newline, as editors and
// `echo` do, and returns its path.
func writeSecret(t *testing.T, secret string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// envOf returns a getenv over a fixed map.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// testConfig defines one token per secret source and scope shape:
//   - reader (sha256): pull library/* on hub;
//   - ci (env): push team/** on internal, pull **/cache on hub;
//   - ops (file): admin on every repository of every registry;
//   - nested (sha256): pull a/*/c/** on internal;
//   - root (sha256): pull top-level names (*) on internal.
func testConfig(t *testing.T, anonymous bool) (Config, func(string) string) {
	t.Helper()
	cfg := Config{
		AllowAnonymous: anonymous,
		Tokens: []Token{
			{Name: "reader", SHA256: hexDigest(readerSecret), Scopes: []Scope{
				{Registry: "hub", Repositories: []string{"library/*"}, Actions: []Action{ActionPull}},
			}},
			{Name: "ci", SecretEnv: "CI_TOKEN", Scopes: []Scope{
				{Registry: "internal", Repositories: []string{"team/**"}, Actions: []Action{ActionPush}},
				{Registry: "hub", Repositories: []string{"**/cache"}, Actions: []Action{ActionPull}},
			}},
			{Name: "ops", SecretFile: writeSecret(t, opsSecret), Scopes: []Scope{
				{Registry: "*", Repositories: []string{"**"}, Actions: []Action{ActionAdmin}},
			}},
			{Name: "nested", SHA256: hexDigest(nestedSecret), Scopes: []Scope{
				{Registry: "internal", Repositories: []string{"a/*/c/**"}, Actions: []Action{ActionPull}},
			}},
			{Name: "root", SHA256: hexDigest(rootSecret), Scopes: []Scope{
				{Registry: "internal", Repositories: []string{"*"}, Actions: []Action{ActionPull}},
			}},
		},
	}
	return cfg, envOf(map[string]string{"CI_TOKEN": ciSecret})
}

func newTestAuthorizer(t *testing.T, anonymous bool) *Authorizer {
	t.Helper()
	cfg, getenv := testConfig(t, anonymous)
	a, err := New(cfg, getenv)
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	return a
}

// statusOf maps an authorization outcome as the handlers' writeError does.
func statusOf(w http.ResponseWriter, err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", Challenge)
		return http.StatusUnauthorized
	case errors.Is(err, ErrDenied):
		return http.StatusForbidden
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// decisionServer serves /check?op=&registry=&repo= behind the Middleware,
// deciding like the wired handlers will: op "pull"/"push"/"admin" checks
// one repository, "list" a listing under repo as prefix, "purge" a cache
// purge of the subtree.
func decisionServer(t *testing.T, a *Authorizer) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		reg, repo := q.Get("registry"), q.Get("repo")
		var err error
		switch op := q.Get("op"); op {
		case "list":
			var p Principal
			if p, err = FromContext(r.Context()); err == nil {
				err = p.CheckUnder(ActionPull, reg, repo)
			}
		case "purge":
			var p Principal
			if p, err = FromContext(r.Context()); err == nil {
				err = p.CheckCovers(ActionAdmin, reg, repo)
			}
		default:
			err = Authorize(r.Context(), Action(op), reg, repo)
		}
		w.WriteHeader(statusOf(w, err))
	})
	srv := httptest.NewServer(a.Middleware(h))
	t.Cleanup(srv.Close)
	return srv
}
