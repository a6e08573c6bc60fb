package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// canary is a secret that must never be seen again once handed over.
const canary = "CANARY-e7c1f0a3b2d94c6e8f15"

// canaryForms are the ways a leak could spell the canary.
func canaryForms() []string {
	return []string{
		canary,
		base64.StdEncoding.EncodeToString([]byte(canary)),
		base64.StdEncoding.EncodeToString([]byte("x:" + canary)), // Basic credentials
		hexDigest(canary), // the digest allows offline guessing: keep it out too
		hex.EncodeToString([]byte(canary)),
	}
}

// TestCanaryNeverLeaks feeds the canary through every path that produces
// an error or a log line: every way of misplacing it in the configuration,
// presenting it (or near misses) as a credential, and logging what the
// package hands out, and checks that no error string, log line or HTTP
// answer contains it in any spelling.
func TestCanaryNeverLeaks(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Anything the package might log through the default logger lands in
	// the buffer too. Not parallel: the default logger is process-wide.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(logger)

	var seen []string
	record := func(what string, err error) {
		if err != nil {
			seen = append(seen, err.Error(), fmt.Sprintf("%+v", err))
			logger.Debug("auth error", "what", what, "err", err)
		}
	}

	dir := t.TempDir()
	canaryFile := filepath.Join(dir, "canary")
	if err := os.WriteFile(canaryFile, []byte(canary+" trailing words\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shortFile := filepath.Join(dir, "short")
	if err := os.WriteFile(shortFile, []byte(canary[:10]), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"CANARY_ENV": "\x01" + canary, "GOOD": canary})
	scopes := []Scope{{Registry: "hub", Repositories: []string{"**"}, Actions: []Action{ActionPull}}}
	for _, tok := range []Token{
		{Name: "inline", Inline: true, Scopes: scopes},
		{Name: "in-sha", SHA256: canary, Scopes: scopes},
		{Name: "in-file-field", SecretFile: canary, Scopes: scopes},
		{Name: "in-env-field", SecretEnv: canary, Scopes: scopes},
		{Name: "bad-file", SecretFile: canaryFile, Scopes: scopes},
		{Name: "short-file", SecretFile: shortFile, Scopes: scopes},
		{Name: "bad-env", SecretEnv: "CANARY_ENV", Scopes: scopes},
	} {
		_, err := New(Config{Tokens: []Token{tok}}, env)
		if err == nil {
			t.Errorf("New(token %s) = nil error, want one", tok.Name)
		}
		record("new", err)
	}
	for _, text := range []string{
		"tokens:\n  - name: t\n    secret: " + canary + "\n",
		"tokens:\n  - name: t\n    secret: \"" + canary + "\n",
		"tokens:\n  - name: t\n    sha256: [" + canary + "\n",
		"tokens:\n  - name: t\n    secret_env: {" + canary + ": 1}\n",
		"tokens:\n  - name: t\n    " + canary + ": x\n",
	} {
		cfg, err := ParseConfig([]byte(text))
		record("parse", err)
		if err == nil {
			_, err = New(cfg, env)
			record("new from yaml", err)
		}
	}

	a, err := New(Config{AllowAnonymous: true, Tokens: []Token{{Name: "good", SecretEnv: "GOOD", Scopes: scopes}}}, env)
	if err != nil {
		t.Fatalf("New(good) = %v", err)
	}
	logger.Info("authorizer", "auth", a)
	seen = append(seen, a.String(), fmt.Sprintf("%v %+v", a, a))
	for _, h := range []string{
		"Bearer " + canary,
		"Bearer " + canary + "x",
		"Bearer " + canary[1:],
		"Bearer " + canary + " " + canary,
		"Basic " + base64.StdEncoding.EncodeToString([]byte("x:"+canary)),
		canary,
		"Bearer\t" + canary,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", h)
		p, err := a.Authenticate(r)
		record("authenticate", err)
		if err == nil {
			logger.Info("principal", "principal", p)
			seen = append(seen, p.String(), fmt.Sprintf("%v %+v", p, p))
			record("check", p.Check(ActionPush, "hub", "x"))
		}
	}

	// HTTP answers: the rate limiter and CORS in front of the middleware.
	h := CORS([]string{"https://dash.example"})(a.Middleware(RateLimit(1, time.Hour)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, err := FromContext(r.Context())
			w.WriteHeader(statusOf(w, err))
			if err != nil {
				fmt.Fprint(w, err)
			}
		}))))
	for range 3 {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+canary+"-wrong")
		r.Header.Set("Origin", "https://dash.example")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		seen = append(seen, rec.Body.String(), fmt.Sprint(rec.Header()))
	}

	seen = append(seen, logs.String())
	if len(seen) < 20 {
		t.Fatalf("only %d outputs collected; the test is not exercising the package", len(seen))
	}
	for _, out := range seen {
		for _, form := range canaryForms() {
			if strings.Contains(out, form) {
				t.Errorf("canary (as %q) leaked in %q", form, out)
			}
		}
	}
	// The good token itself authenticated and is only known by name.
	if !strings.Contains(logs.String(), `"name":"good"`) {
		t.Errorf("logs = %s, want the principal logged by name", logs.String())
	}
}
