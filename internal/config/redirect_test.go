package config

import (
	"slices"
	"testing"
)

func TestRedirectHosts(t *testing.T) {
	u, err := ParseUpstream("hub=https://registry-1.docker.io")
	if err != nil {
		t.Fatalf("ParseUpstream() error = %v", err)
	}
	if !slices.Contains(u.RedirectHosts, "auth.docker.io") {
		t.Errorf("ParseUpstream(hub).RedirectHosts = %v, want Docker Hub's token host", u.RedirectHosts)
	}
	u, err = ParseUpstream("local=http://127.0.0.1:5000")
	if err != nil {
		t.Fatalf("ParseUpstream() error = %v", err)
	}
	if len(u.RedirectHosts) != 0 {
		t.Errorf("ParseUpstream(local).RedirectHosts = %v, want none", u.RedirectHosts)
	}

	yaml := `
upstreams:
  - name: corp
    url: https://registry.corp.example
    redirect_hosts: ["blobs.corp.example", "*.s3.amazonaws.com"]
`
	c, err := Parse([]byte(yaml), "", func(string) string { return "" })
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	want := []string{"blobs.corp.example", "*.s3.amazonaws.com"}
	if got := c.Upstreams[0].RedirectHosts; !slices.Equal(got, want) {
		t.Errorf("Parse().Upstreams[0].RedirectHosts = %v, want %v", got, want)
	}
}
