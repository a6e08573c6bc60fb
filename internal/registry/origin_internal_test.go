package registry

import (
	"net/url"
	"testing"
)

// TestSameOrigin: a URL is the registry's origin only with the same scheme,
// host and effective port, the port defaulting by scheme alone.
func TestSameOrigin(t *testing.T) {
	tests := []struct {
		home     string
		insecure bool
		url      string
		want     bool
	}{
		{"reg.example", false, "https://reg.example/v2/", true},
		{"reg.example", false, "https://reg.example:443/v2/", true},
		{"reg.example:443", false, "https://reg.example/v2/", true},
		{"REG.example", false, "https://reg.EXAMPLE/v2/", true},
		{"reg.example", false, "http://reg.example/v2/", false},     // another scheme
		{"reg.example", false, "http://reg.example:443/v2/", false}, // :443, but plain HTTP
		{"reg.example", false, "https://reg.example:80/v2/", false},
		{"reg.example", false, "https://reg.example:8443/v2/", false},
		{"reg.example", false, "https://other.example/v2/", false},
		{"reg.example:443", true, "http://reg.example:443/v2/", true},
		{"reg.example:443", true, "http://reg.example:80/token", false}, // a realm on another port of the host
		{"reg.example:443", true, "http://reg.example/token", false},    // no port over http is :80
		{"reg.example:443", true, "https://reg.example/v2/", false},
		{"reg.example", true, "http://reg.example/v2/", true},
		{"reg.example", true, "http://reg.example:80/v2/", true},
		{"reg.example", true, "https://reg.example/v2/", false},
		{"reg.example:80", true, "http://reg.example:443/v2/", false},
		{"127.0.0.1:5000", true, "http://127.0.0.1:5000/v2/", true},
		{"127.0.0.1:5000", true, "http://127.0.0.1:5001/v2/", false},
		{"[::1]:5000", true, "http://[::1]:5000/v2/", true},
		{"[::1]:5000", true, "http://[::1]/v2/", false},
		{"reg.example", false, "ftp://reg.example/v2/", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := homeOrigin(tt.home, tt.insecure).is(originOf(u)); got != tt.want {
			t.Errorf("homeOrigin(%q, insecure %v).is(%s) = %v, want %v", tt.home, tt.insecure, tt.url, got, tt.want)
		}
	}
}

// TestAllowsRedirectHost: a RedirectHosts entry without a port allows any
// port of that host; with a port, that effective port only.
func TestAllowsRedirectHost(t *testing.T) {
	g := newGuardTransport(nil, "reg.example", &Options{RedirectHosts: []string{"blobs.example", "auth.example:443", "*.cdn.example"}})
	tests := []struct {
		url  string
		want bool
	}{
		{"https://blobs.example/x", true},
		{"https://blobs.example:8443/x", true},
		{"https://auth.example/token", true},
		{"https://auth.example:443/token", true},
		{"http://auth.example:80/token", false},
		{"http://auth.example/token", false},
		{"https://a.cdn.example/x", true},
		{"https://cdn.example/x", false},
		{"https://reg.example:444/x", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.allows(u); got != tt.want {
			t.Errorf("allows(%s) = %v, want %v", tt.url, got, tt.want)
		}
	}
}
