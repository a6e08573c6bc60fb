package redact

import (
	"fmt"
	"testing"
)

// TestQuoted covers the decoder errors of internal/config (JSON and YAML
// quoting) and internal/auth: field names stay, any other quoted text goes.
func TestQuoted(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown field kept", `error unmarshaling JSON: json: unknown field "pasword_file"`,
			`error unmarshaling JSON: json: unknown field "pasword_file"`},
		{"value redacted", `cannot unmarshal string "hunter2-0123456789abcdef" into Go struct field Token.scopes`,
			`cannot unmarshal string "(redacted)" into Go struct field Token.scopes`},
		{"secret pasted as key", `json: unknown field "s3cret-Token"`, `json: unknown field "(redacted)"`},
		{"yaml backticks", "yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `hunter2` into int",
			"yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str \"(redacted)\" into int"},
		{"escaped quote inside", `invalid value "s3\"cret" here`, `invalid value "(redacted)" here`},
		{"field name too long", `unknown field "abcdefghijklmnopqrstuvwxyz0123456789"`, `unknown field "(redacted)"`},
		{"nothing quoted", "line 3: mapping values are not allowed", "line 3: mapping values are not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Quoted(tt.in)
			if got != tt.want {
				t.Errorf("Quoted(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkNoSecret(t, fmt.Sprintf("Quoted(%q)", tt.in), got)
		})
	}
}

// TestCredentials covers internal/config's error for one value: hints stay
// readable, credential-like values go.
func TestCredentials(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"short value kept", `invalid duration "5 minutes"`, `invalid duration "5 minutes"`},
		{"field name kept", `unknown field "ttl"`, `unknown field "ttl"`},
		{"long token", `invalid value "tok3n0123456789abcdefXYZ"`, `invalid value "(redacted)"`},
		{"base64 credential", `invalid value "YWxpY2U6aHVudGVyMi1zM2NyZXQ="`, `invalid value "(redacted)"`},
		{"url userinfo", `bad url "https://u:hunter2@r.example"`, `bad url "(redacted)"`},
		{"url userinfo in backticks", "bad url `https://u:hunter2@r.example`", `bad url "(redacted)"`},
		{"plain url kept", `bad url "https://r.example"`, `bad url "https://r.example"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Credentials(tt.in)
			if got != tt.want {
				t.Errorf("Credentials(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkNoSecret(t, fmt.Sprintf("Credentials(%q)", tt.in), got)
		})
	}
}

func TestFieldName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"password_file", true},
		{"ttl", true},
		{"Password", false},
		{"s3cret-token", false},
		{"", false},
		{"abcdefghijklmnopqrstuvwxyz0123456", false}, // 33 characters
	}
	for _, tt := range tests {
		if got := FieldName(tt.in); got != tt.want {
			t.Errorf("FieldName(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
