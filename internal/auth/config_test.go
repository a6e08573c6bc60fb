package auth

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseConfigAndNew(t *testing.T) {
	file := writeSecret(t, opsSecret)
	yamlText := `
allow_anonymous: true
anonymous_scopes:
  - registry: hub
    repositories: ["library/**"]
    actions: [pull]
tokens:
  - name: ci
    secret_env: CI_TOKEN
    scopes:
      - registry: internal
        repositories: ["team/**", "shared/*"]
        actions: [push]
  - name: ops
    secret_file: ` + file + `
    scopes:
      - {registry: "*", repositories: ["**"], actions: [admin]}
  - name: reader
    sha256: ` + strings.ToUpper(hexDigest(readerSecret)) + `
    scopes:
      - {registry: hub, repositories: ["library/*"], actions: [pull]}
`
	cfg, err := ParseConfig([]byte(yamlText))
	if err != nil {
		t.Fatalf("ParseConfig = %v", err)
	}
	a, err := New(cfg, envOf(map[string]string{"CI_TOKEN": "  " + ciSecret + "\n"}))
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	for _, tt := range []struct {
		secret, name string
	}{
		{ciSecret, "ci"}, {opsSecret, "ops"}, {readerSecret, "reader"}, {"", "anonymous"},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		if tt.secret != "" {
			r.Header.Set("Authorization", "Bearer "+tt.secret)
		}
		p, err := a.Authenticate(r)
		if err != nil || p.Name() != tt.name {
			t.Errorf("Authenticate(%s's secret) = %q, %v, want %q", tt.name, p.Name(), err, tt.name)
		}
	}
}

func TestParseConfigRejectsUnknownFields(t *testing.T) {
	_, err := ParseConfig([]byte("tokens:\n  - name: x\n    secret_fiel: /x\n"))
	if err == nil || !strings.Contains(err.Error(), `"secret_fiel"`) {
		t.Errorf("ParseConfig(misspelt field) = %v, want an error naming the field", err)
	}
}

func TestNewRejects(t *testing.T) {
	okScopes := []Scope{{Registry: "hub", Repositories: []string{"**"}, Actions: []Action{ActionPull}}}
	emptyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bigFile := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(bigFile, []byte(strings.Repeat("a", maxSecretFileBytes+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"SHORT": "short", "SPACE": "has space 0123456789", "OK": ciSecret, "OK2": ciSecret})
	tests := []struct {
		name   string
		tokens []Token
		want   string // a fragment of the error
	}{
		{"inline secret", []Token{{Name: "t", Inline: true, Scopes: okScopes}}, "inline secret is not allowed"},
		{"inline secret beside a file", []Token{{Name: "t", Inline: true, SecretEnv: "OK", Scopes: okScopes}}, "inline secret is not allowed"},
		{"no source", []Token{{Name: "t", Scopes: okScopes}}, "exactly one of"},
		{"two sources", []Token{{Name: "t", SecretEnv: "OK", SHA256: hexDigest("x"), Scopes: okScopes}}, "exactly one of"},
		{"no name", []Token{{SecretEnv: "OK", Scopes: okScopes}}, "has no name"},
		{"name with a newline", []Token{{Name: "a\nb", SecretEnv: "OK", Scopes: okScopes}}, "is invalid"},
		{"reserved name", []Token{{Name: "anonymous", SecretEnv: "OK", Scopes: okScopes}}, "reserved"},
		{"duplicate name", []Token{{Name: "t", SecretEnv: "OK", Scopes: okScopes}, {Name: "t", SHA256: hexDigest(readerSecret), Scopes: okScopes}}, "defined twice"},
		{"duplicate secret", []Token{{Name: "t", SecretEnv: "OK", Scopes: okScopes}, {Name: "u", SecretEnv: "OK2", Scopes: okScopes}}, `tokens "t" and "u" have the same secret`},
		{"unset env", []Token{{Name: "t", SecretEnv: "MISSING", Scopes: okScopes}}, "secret_env: the variable MISSING is empty or unset"},
		{"unset env, a name unlike a variable", []Token{{Name: "t", SecretEnv: "ghp_not-a-variable-name", Scopes: okScopes}}, "secret_env: the variable is empty or unset"},
		{"short env", []Token{{Name: "t", SecretEnv: "SHORT", Scopes: okScopes}}, "shorter than 16"},
		{"space in secret", []Token{{Name: "t", SecretEnv: "SPACE", Scopes: okScopes}}, "whitespace"},
		{"directory as file", []Token{{Name: "t", SecretFile: t.TempDir(), Scopes: okScopes}}, "secret_file: the path is a directory"},
		{"missing file", []Token{{Name: "t", SecretFile: "/nonexistent/secret", Scopes: okScopes}}, "secret_file: the file does not exist"},
		{"empty file", []Token{{Name: "t", SecretFile: emptyFile, Scopes: okScopes}}, "empty or unset"},
		{"big file", []Token{{Name: "t", SecretFile: bigFile, Scopes: okScopes}}, "larger than"},
		{"bad sha256", []Token{{Name: "t", SHA256: "abc", Scopes: okScopes}}, "64 hexadecimal"},
		{"no scopes", []Token{{Name: "t", SecretEnv: "OK"}}, "no scopes"},
		{"scope without registry", []Token{{Name: "t", SecretEnv: "OK", Scopes: []Scope{{Repositories: []string{"**"}, Actions: []Action{ActionPull}}}}}, "without registry"},
		{"registry with slash", []Token{{Name: "t", SecretEnv: "OK", Scopes: []Scope{{Registry: "a/b", Repositories: []string{"**"}, Actions: []Action{ActionPull}}}}}, "one name"},
		{"scope without repositories", []Token{{Name: "t", SecretEnv: "OK", Scopes: []Scope{{Registry: "hub", Actions: []Action{ActionPull}}}}}, "without repositories"},
		{"scope without actions", []Token{{Name: "t", SecretEnv: "OK", Scopes: []Scope{{Registry: "hub", Repositories: []string{"**"}}}}}, "without actions"},
		{"unknown action", []Token{{Name: "t", SecretEnv: "OK", Scopes: []Scope{{Registry: "hub", Repositories: []string{"**"}, Actions: []Action{"delete"}}}}}, `unknown action "delete"`},
		{"bad pattern", []Token{{Name: "t", SecretEnv: "OK", Scopes: []Scope{{Registry: "hub", Repositories: []string{"team**"}, Actions: []Action{ActionPull}}}}}, "whole path component"},
	}
	for _, tt := range tests {
		_, err := New(Config{Tokens: tt.tokens}, env)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New error = %v, want one containing %q", tt.name, err, tt.want)
			continue
		}
		if tt.tokens[0].Name != "" && !strings.Contains(err.Error(), strconv.Quote(tt.tokens[len(tt.tokens)-1].Name)) {
			t.Errorf("%s: New error = %v, want it to name the token", tt.name, err)
		}
	}
}

func TestInlineSecretInYAMLRejected(t *testing.T) {
	cfg, err := ParseConfig([]byte("tokens:\n  - name: t\n    secret: hunter2-0123456789abcdef\n    scopes: [{registry: hub, repositories: ['**'], actions: [pull]}]\n"))
	if err != nil {
		t.Fatalf("ParseConfig = %v", err)
	}
	_, err = New(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), `token "t": inline secret is not allowed`) {
		t.Errorf("New(inline secret) = %v, want the inline-secret error", err)
	}
}

func TestEnvWithoutGetenv(t *testing.T) {
	_, err := New(Config{Tokens: []Token{{Name: "t", SecretEnv: "X", Scopes: []Scope{{Registry: "hub", Repositories: []string{"**"}, Actions: []Action{ActionPull}}}}}}, nil)
	if err == nil || errors.Is(err, ErrDenied) {
		t.Errorf("New(secret_env, nil getenv) = %v, want a configuration error", err)
	}
}
