package redact

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// secrets are the values the tables below hide; no output may hold one.
var secrets = []string{"hunter2", "s3cret", "s3cr3t", "tok3n", "tok-123-secret"}

func checkNoSecret(t *testing.T, call, got string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(got, s) {
			t.Errorf("%s = %q leaks %q", call, got, s)
		}
	}
}

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://r.example/v2/org/app/manifests/v1", "https://r.example/v2/org/app/manifests/v1"},
		{"https://user:hunter2@r.example/v2/", "https://r.example/v2/"},
		{"https://auth.example/token?scope=repository:a:pull&service=x", "https://auth.example/token"},
		{"https://s3.example/blob?X-Amz-Signature=s3cret#frag", "https://s3.example/blob"},
		{"https://r.example/v2/?", "https://r.example/v2/"},
		{"https://r.example/v2/#tok3n", "https://r.example/v2/"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatalf("url.Parse(%q): %v", tt.in, err)
		}
		got := URL(u)
		if got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		checkNoSecret(t, fmt.Sprintf("URL(%q)", tt.in), got)
	}
	if got := URL(nil); got != "" {
		t.Errorf("URL(nil) = %q, want empty", got)
	}
}

func TestError(t *testing.T) {
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
		// A URL outside any *url.Error still goes through Text (a query runs
		// to the next space, so the colon after it goes too).
		{"url in text", fmt.Errorf("fetch https://u:hunter2@r.example/b?sig=s3cret: %w", base), "fetch https://r.example/b?REDACTED connection refused"},
	}
	for _, tt := range tests {
		got := Error(tt.err)
		if got != tt.want {
			t.Errorf("Error(%s) = %q, want %q", tt.name, got, tt.want)
		}
		checkNoSecret(t, "Error("+tt.name+")", got)
	}
}

// TestText covers every pattern the HTTP layer and the registry client need
// redacted (userinfo, queries, signed blob URLs).
func TestText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no url", "manifest unknown", "manifest unknown"},
		{"plain url", "GET https://r.example/v2/x/manifests/v1: 404", "GET https://r.example/v2/x/manifests/v1: 404"},
		{"userinfo", "get https://robot:s3cr3t@registry.example.com/v2/: 500", "get https://registry.example.com/v2/: 500"},
		{"userinfo, user only", "get https://robot@r.example/v2/", "get https://r.example/v2/"},
		{"userinfo, other scheme", "dial oci://u:hunter2@r.example/x", "dial oci://r.example/x"},
		{"userinfo and query", "get https://robot:s3cr3t@registry.example.com/v2/x/manifests/latest?access_token=tok3n: 500",
			"get https://registry.example.com/v2/x/manifests/latest?REDACTED 500"},
		{"token realm", `Get "https://auth.example/token?scope=repository:a:pull&service=x&token=s3cret": EOF`,
			`Get "https://auth.example/token?REDACTED": EOF`},
		{"signed blob redirect", "redirected to http://blobs.example.com/b?X-Signature=tok-123-secret",
			"redirected to http://blobs.example.com/b?REDACTED"},
		{"signed s3 url", "GET https://bucket.s3.amazonaws.com/docker/blobs/sha256/ab/data?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA/s3cret&X-Amz-Signature=hunter2 403",
			"GET https://bucket.s3.amazonaws.com/docker/blobs/sha256/ab/data?REDACTED 403"},
		{"fragment", "see https://r.example/x#tok3n now", "see https://r.example/x?REDACTED now"},
		{"single quotes", "url 'https://r.example/b?sig=s3cret' refused", "url 'https://r.example/b?REDACTED refused"},
		{"quote in path before query", "get https://r.example/a'b?sig=s3cret", "get https://r.example/a'b?REDACTED"},
		{"two urls", "https://a.example/?t=s3cret then https://u:hunter2@b.example/",
			"https://a.example/?REDACTED then https://b.example/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Text(tt.in)
			if got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkNoSecret(t, fmt.Sprintf("Text(%q)", tt.in), got)
		})
	}
}
