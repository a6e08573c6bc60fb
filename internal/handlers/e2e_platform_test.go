package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// TestOnePlatformRule runs the same platform cases through every route
// that takes one (manifests, digest, config, files, extract, copy): all
// pick the same index child by the one rule, match names without case, and
// check a platform named for a single image against the image's own.
func TestOnePlatformRule(t *testing.T) {
	a := newReadsAPI(t, Reads{})
	cases := []struct {
		name, repo, platform string
		status               int
		code                 string
		served               string // X-Regapi-Platform
	}{
		{"index, exact", "reads/img", "linux/arm64/v8", 200, "", "linux/arm64/v8"},
		{"index, variant left open", "reads/img", "linux/arm64", 200, "", "linux/arm64/v8"},
		{"index, any case", "reads/img", "LINUX/ARM64", 200, "", "linux/arm64/v8"},
		{"index, absent platform", "reads/img", "linux/s390x", 404, "PLATFORM_UNKNOWN", ""},
		{"image, its own platform", "reads/single", "linux/amd64", 200, "", "linux/amd64"},
		{"image, its own in capitals", "reads/single", "Linux/AMD64", 200, "", "linux/amd64"},
		{"image, another platform", "reads/single", "linux/arm64", 404, "PLATFORM_UNKNOWN", ""},
		{"not a platform", "reads/img", "linux", 400, "PLATFORM_INVALID", ""},
	}
	routes := []string{"manifests/v1", "digest/v1", "config/v1", "files/v1/etc/os-release", "extract/v1"}
	for i, c := range cases {
		for _, rt := range routes {
			t.Run(c.name+"/"+rt, func(t *testing.T) {
				res := a.get(t, "/api/v1/repos/g/"+c.repo+"/-/"+rt+"?platform="+url.QueryEscape(c.platform))
				if c.code != "" {
					p := res.problem(t, c.status, c.code)
					if c.code == "PLATFORM_UNKNOWN" && len(p.Platforms) == 0 {
						t.Errorf("PLATFORM_UNKNOWN lists no platforms")
					}
					return
				}
				if res.Status != c.status {
					t.Fatalf("status %d, want %d: %s", res.Status, c.status, res.Body)
				}
				if got := res.Header.Get(platformHeader); got != c.served {
					t.Errorf("%s = %q, want %q", platformHeader, got, c.served)
				}
			})
		}
		t.Run(c.name+"/copy", func(t *testing.T) {
			res := a.postJSON(t, "/api/v1/copy", map[string]string{
				"source":      "g/" + c.repo + ":v1",
				"destination": fmt.Sprintf("g/reads/copy%d:v1", i),
				"platform":    c.platform,
			})
			if c.code != "" {
				res.problem(t, c.status, c.code)
				return
			}
			if res.Status != http.StatusOK {
				t.Fatalf("copy = %d: %s", res.Status, res.Body)
			}
		})
	}
}
