package registry

import (
	"net/url"
	"testing"
)

func TestStartCursor(t *testing.T) {
	tests := []struct{ path, want string }{
		{"", ""},
		{"org", "orf"},
		{"org/app", "org/apo"},
		{"mirror", "mirroq"},
		{"x/a0", "x/9"},
		{"a", "9"},
		{"0", ""},
		{"a-0", "9"},
		{"a/b1", "a/b0"},
	}
	for _, tc := range tests {
		got := startCursor(tc.path)
		if got != tc.want {
			t.Errorf("startCursor(%q) = %q, want %q", tc.path, got, tc.want)
		}
		// It precedes the path and its children in both orders.
		for _, child := range []string{tc.path, tc.path + "/0", tc.path + "/a", tc.path + "/z/z"} {
			if tc.path != "" && got != "" && (!byteLess(got, child) || !walkLess(got, child)) {
				t.Errorf("startCursor(%q) = %q does not precede %q", tc.path, got, child)
			}
		}
		if got != "" && validatePath(got) != nil {
			t.Errorf("startCursor(%q) = %q is not a valid name", tc.path, got)
		}
	}
}

func TestWalkLess(t *testing.T) {
	ordered := []string{"aaa/x", "org/0x", "org", "org/a", "org/b/c", "org-x/y", "org.x/z", "org0/z"}
	for i := 1; i < len(ordered); i++ {
		if !walkLess(ordered[i-1], ordered[i]) {
			t.Errorf("walkLess(%q, %q) = false, want true", ordered[i-1], ordered[i])
		}
	}
}

func TestGuardAllows(t *testing.T) {
	g := newGuardTransport(nil, "registry.example.com", &Options{RedirectHosts: []string{"cdn.example.net", "blobs.local:9000", "*.s3.amazonaws.com"}})
	tests := []struct {
		url  string
		want bool
	}{
		{"https://cdn.example.net/x", true},
		{"https://CDN.example.net:443/x", true},
		{"https://blobs.local:9000/x", true},
		{"https://blobs.local:9001/x", false},
		{"https://bucket.s3.amazonaws.com/x", true},
		{"https://a.b.s3.amazonaws.com/x", true},
		{"https://s3.amazonaws.com/x", false},
		{"https://evil.example.com/x", false},
		{"https://example.net/x", false},
	}
	for _, tc := range tests {
		u, _ := url.Parse(tc.url)
		if got := g.allows(u); got != tc.want {
			t.Errorf("allows(%s) = %v, want %v", tc.url, got, tc.want)
		}
	}
}
