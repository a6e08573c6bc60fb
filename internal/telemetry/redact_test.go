package telemetry

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://r.example/v2/org/app/manifests/v1", "https://r.example/v2/org/app/manifests/v1"},
		{"https://user:hunter2@r.example/v2/", "https://r.example/v2/"},
		{"https://auth.example/token?scope=repository:a:pull&service=x", "https://auth.example/token"},
		{"https://s3.example/blob?X-Amz-Signature=secret#frag", "https://s3.example/blob"},
		{"https://r.example/v2/?", "https://r.example/v2/"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatalf("url.Parse(%q): %v", tt.in, err)
		}
		if got := RedactURL(u); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := RedactURL(nil); got != "" {
		t.Errorf("RedactURL(nil) = %q, want empty", got)
	}
}

func TestRedactError(t *testing.T) {
	base := errors.New("connection refused")
	ue := &url.Error{Op: "Get", URL: "https://u:hunter2@r.example/v2/?token=s3cret", Err: base}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"plain", base, "connection refused"},
		{"url error", ue, `Get "https://r.example/v2/": connection refused`},
		{"wrapped url error", fmt.Errorf("ping: %w", ue), `ping: Get "https://r.example/v2/": connection refused`},
		{"unparseable", &url.Error{Op: "Get", URL: "http://[::1%zz/?k=s3cret", Err: base}, `Get "<unparseable url>": connection refused`},
	}
	for _, tt := range tests {
		got := RedactError(tt.err)
		if got != tt.want {
			t.Errorf("RedactError(%s) = %q, want %q", tt.name, got, tt.want)
		}
		if strings.Contains(got, "hunter2") || strings.Contains(got, "s3cret") {
			t.Errorf("RedactError(%s) = %q leaks a secret", tt.name, got)
		}
	}
}
