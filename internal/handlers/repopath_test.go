package handlers

import (
	"errors"
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseRepoPath(t *testing.T) {
	tests := []struct {
		path    string
		want    repoRequest
		pattern string
	}{
		{"demo/-/repositories", repoRequest{Registry: "demo"}, "/api/v1/repos/{registry}/-/repositories"},
		{"demo/library/-/repositories", repoRequest{Registry: "demo", Repository: "library"}, "/api/v1/repos/{registry}/{repository}/-/repositories"},
		{"demo/library/alpine/-/tags", repoRequest{Registry: "demo", Repository: "library/alpine"}, "/api/v1/repos/{registry}/{repository}/-/tags"},
		{"demo/a/b/c/d/-/tags", repoRequest{Registry: "demo", Repository: "a/b/c/d"}, "/api/v1/repos/{registry}/{repository}/-/tags"},
		{"demo/alpine/-/manifests/3.19", repoRequest{Registry: "demo", Repository: "alpine", Reference: "3.19"}, "/api/v1/repos/{registry}/{repository}/-/manifests/{reference}"},
		{"demo/alpine/-/manifests/" + testDigest, repoRequest{Registry: "demo", Repository: "alpine", Reference: testDigest, Digest: true}, "/api/v1/repos/{registry}/{repository}/-/manifests/{reference}"},
		{"demo/alpine/-/manifests/@" + testDigest, repoRequest{Registry: "demo", Repository: "alpine", Reference: testDigest, Digest: true}, "/api/v1/repos/{registry}/{repository}/-/manifests/{reference}"},
		{"demo/alpine/-/digest/latest", repoRequest{Registry: "demo", Repository: "alpine", Reference: "latest"}, "/api/v1/repos/{registry}/{repository}/-/digest/{reference}"},
		{"demo/alpine/-/config/_x", repoRequest{Registry: "demo", Repository: "alpine", Reference: "_x"}, "/api/v1/repos/{registry}/{repository}/-/config/{reference}"},
		{"demo/my-org/my__app.v2/-/extract/V1.0-rc_1", repoRequest{Registry: "demo", Repository: "my-org/my__app.v2", Reference: "V1.0-rc_1"}, "/api/v1/repos/{registry}/{repository}/-/extract/{reference}"},
		{"Docker.io/a---b/-/tags", repoRequest{Registry: "Docker.io", Repository: "a---b"}, "/api/v1/repos/{registry}/{repository}/-/tags"},
		{"demo/alpine/-/files/3.20/etc/os-release", repoRequest{Registry: "demo", Repository: "alpine", Reference: "3.20", Path: "/etc/os-release"}, "/api/v1/repos/{registry}/{repository}/-/files/{reference}/{path}"},
		{"demo/alpine/-/files/@" + testDigest + "/etc/", repoRequest{Registry: "demo", Repository: "alpine", Reference: testDigest, Digest: true, Path: "/etc", DirOnly: true}, "/api/v1/repos/{registry}/{repository}/-/files/{reference}/{path}"},
		{"demo/alpine/-/files/v1", repoRequest{Registry: "demo", Repository: "alpine", Reference: "v1", Path: "/"}, "/api/v1/repos/{registry}/{repository}/-/files/{reference}/{path}"},
		{"demo/alpine/-/files/v1/", repoRequest{Registry: "demo", Repository: "alpine", Reference: "v1", Path: "/"}, "/api/v1/repos/{registry}/{repository}/-/files/{reference}/{path}"},
		{"demo/alpine/-/files/v1/a b/-/c\\d", repoRequest{Registry: "demo", Repository: "alpine", Reference: "v1", Path: "/a b/-/c\\d"}, "/api/v1/repos/{registry}/{repository}/-/files/{reference}/{path}"},
	}
	for _, tt := range tests {
		got, err := parseRepoPath(tt.path)
		if err != nil {
			t.Errorf("parseRepoPath(%q) error = %v, want nil", tt.path, err)
			continue
		}
		if got.Route == nil || got.Route.Pattern != tt.pattern {
			t.Errorf("parseRepoPath(%q) route = %+v, want pattern %s", tt.path, got.Route, tt.pattern)
		}
		got.Route = nil
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseRepoPath(%q) mismatch (-want +got):\n%s", tt.path, diff)
		}
	}
}

func TestParseRepoPathErrors(t *testing.T) {
	long := strings.Repeat("a", 256)
	tests := []struct {
		path string
		code *problemCode
	}{
		{"demo/alpine/tags", codeNotFound},
		{"demo", codeNotFound},
		{"", codeNotFound},
		{"demo/alpine/-/bogus", codeNotFound},
		{"demo/alpine/-/tags/extra", codeNotFound},
		{"demo/alpine/-/repositories/x", codeNotFound},
		{"demo/-/tags", codeNameInvalid},
		{"demo/-/manifests/latest", codeNameInvalid},
		{"-/alpine/-/tags", codeNameInvalid},
		{"/alpine/-/tags", codeNameInvalid},
		{"de mo/alpine/-/tags", codeNameInvalid},
		{"demo/Alpine/-/tags", codeNameInvalid},
		{"demo/alpine//x/-/tags", codeNameInvalid},
		{"demo/alpine/-", codeNotFound},
		{"demo//-/tags", codeNameInvalid},
		{"demo/a..b/-/tags", codeNameInvalid},
		{"demo/-a/-/tags", codeNameInvalid},
		{"demo/a_/-/tags", codeNameInvalid},
		{"demo/../etc/-/tags", codeNameInvalid},
		{"demo/" + long + "/-/tags", codeNameInvalid},
		{"demo/alpine/-/manifests", codeReferenceInvalid},
		{"demo/alpine/-/manifests/", codeReferenceInvalid},
		{"demo/alpine/-/manifests/.hidden", codeReferenceInvalid},
		{"demo/alpine/-/manifests/-x", codeReferenceInvalid},
		{"demo/alpine/-/manifests/a/b", codeReferenceInvalid},
		{"demo/alpine/-/manifests/" + strings.Repeat("t", 129), codeReferenceInvalid},
		{"demo/alpine/-/manifests/sha256:abc", codeDigestInvalid},
		{"demo/alpine/-/manifests/@latest", codeDigestInvalid},
		{"demo/alpine/-/manifests/sha512:" + strings.Repeat("a", 128), codeDigestInvalid},
		{"demo/alpine/-/digest/" + strings.ToUpper(testDigest), codeDigestInvalid},
		{"demo/alpine/-/config/latest:tag", codeDigestInvalid},
		{"demo/alpine/-/files", codeReferenceInvalid},
		{"demo/alpine/-/files/.x/etc", codeReferenceInvalid},
		{"demo/-/files/v1/etc", codeNameInvalid},
		{"demo/alpine/-/files/v1//etc", codePathInvalid},
		{"demo/alpine/-/files/v1/etc//x", codePathInvalid},
		{"demo/alpine/-/files/v1/../x", codePathInvalid},
		{"demo/alpine/-/files/v1/etc/..", codePathInvalid},
		{"demo/alpine/-/files/v1/./etc", codePathInvalid},
		{"demo/alpine/-/files/v1/a\x00b", codePathInvalid},
		{"demo/alpine/-/files/v1/" + strings.Repeat("a", maxImagePathLen+1), codePathInvalid},
	}
	for _, tt := range tests {
		_, err := parseRepoPath(tt.path)
		var ae *apiError
		if !errors.As(err, &ae) {
			t.Errorf("parseRepoPath(%q) error = %v, want %s", tt.path, err, tt.code.Code)
			continue
		}
		if ae.code != tt.code {
			t.Errorf("parseRepoPath(%q) code = %s, want %s", tt.path, ae.code.Code, tt.code.Code)
		}
	}
}

// FuzzParseRepoPath checks that anything accepted is well-formed: the
// parts re-assemble into the input and each passes its grammar again.
func FuzzParseRepoPath(f *testing.F) {
	for _, s := range []string{"demo/-/repositories", "demo/a/b/-/tags", "demo/a/-/manifests/@" + testDigest,
		"demo/a/-/extract/v1", "x/-/-/-/tags", "a/b/-/c/-/manifests/x", "demo/a/-/files/v1/etc/os-release",
		"demo/a/-/files/v1/etc/", "demo/a/-/files/v1/a/../b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rr, err := parseRepoPath(path)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.code.Status >= 500 {
				t.Fatalf("parseRepoPath(%q) error = %v, want a 4xx apiError", path, err)
			}
			return
		}
		if rr.Route == nil {
			t.Fatalf("parseRepoPath(%q) has no route", path)
		}
		if validateRegistryName(rr.Registry) != nil {
			t.Fatalf("parseRepoPath(%q) registry %q is invalid", path, rr.Registry)
		}
		if rr.Repository != "" && validateRepository(rr.Repository) != nil {
			t.Fatalf("parseRepoPath(%q) repository %q is invalid", path, rr.Repository)
		}
		if (rr.Repository != "") != rr.Route.Repository {
			t.Fatalf("parseRepoPath(%q) repository %q for route %s", path, rr.Repository, rr.Route.Pattern)
		}
		rebuilt := rr.Registry
		if rr.Repository != "" {
			rebuilt += "/" + rr.Repository
		}
		rebuilt += "/-/" + rr.Route.Action
		if rr.Route.Reference {
			if _, _, err := parseReference(rr.Reference); err != nil {
				t.Fatalf("parseRepoPath(%q) reference %q does not parse again: %v", path, rr.Reference, err)
			}
			ref := rr.Reference
			if rr.Digest && strings.HasPrefix(strings.TrimPrefix(path, rebuilt+"/"), "@") {
				ref = "@" + ref
			}
			rebuilt += "/" + ref
		}
		want := path
		if rr.Route.hasPath() {
			checkImagePath(t, path, rr.Path)
			if rr.Path != "/" {
				rebuilt += rr.Path
			}
			want = strings.TrimSuffix(path, "/") // a directory may be asked for as dir/
		}
		if rebuilt != want {
			t.Fatalf("parseRepoPath(%q) re-assembles to %q", path, rebuilt)
		}
		if rr.Repository != "" {
			checkOCIRepository(t, path, rr.Repository)
		}
		if rr.Route.Reference {
			checkOCIReference(t, path, rr.Reference, rr.Digest)
		}
	})
}

func TestParsePlatform(t *testing.T) {
	tests := []struct {
		in   string
		want *v1.Platform
		ok   bool
	}{
		{"", nil, true},
		{"linux/amd64", &v1.Platform{OS: "linux", Architecture: "amd64"}, true},
		{"linux/arm/v7", &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, true},
		{"windows/amd64", &v1.Platform{OS: "windows", Architecture: "amd64"}, true},
		{"linux", nil, false},
		{"linux/", nil, false},
		{"/amd64", nil, false},
		{"linux/arm/v7/x", nil, false},
		{"linux/amd 64", nil, false},
		{"linux/amd64:10.0", nil, false},
	}
	for _, tt := range tests {
		got, err := parsePlatform(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parsePlatform(%q) error = %v, want ok %v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.code != codePlatformInvalid {
				t.Errorf("parsePlatform(%q) error = %v, want PLATFORM_INVALID", tt.in, err)
			}
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parsePlatform(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"", 100, true},
		{"1", 1, true},
		{"1000", 1000, true},
		{"1001", 1000, true},
		{"99999999", 1000, true},
		{"0", 0, false},
		{"-1", 0, false},
		{"ten", 0, false},
		{"1.5", 0, false},
		{"99999999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, err := parseLimit(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseLimit(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestRepoRoutesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range repoRoutes {
		if seen[rt.Pattern] {
			t.Errorf("repoRoutes has %s twice", rt.Pattern)
		}
		seen[rt.Pattern] = true
		if got := findRepoRoute(rt.Action, rt.Repository, rt.Reference); got == nil || got.Pattern != rt.Pattern {
			t.Errorf("findRepoRoute(%q, %v, %v) = %v, want %s", rt.Action, rt.Repository, rt.Reference, got, rt.Pattern)
		}
	}
}

// checkImagePath fails unless p is an absolute, clean path inside an image
// that cannot leave its root.
func checkImagePath(t *testing.T, input, p string) {
	t.Helper()
	if !strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) || len(p) > maxImagePathLen+1 {
		t.Fatalf("parseRepoPath(%q) path %q: want absolute, without NUL, bounded", input, p)
	}
	if p == "/" {
		return
	}
	if strings.HasSuffix(p, "/") || path.Clean(p) != p {
		t.Fatalf("parseRepoPath(%q) path %q is not clean", input, p)
	}
	for c := range strings.SplitSeq(p[1:], "/") {
		if c == ".." || c == "." || c == "" {
			t.Fatalf("parseRepoPath(%q) path %q has component %q", input, p, c)
		}
	}
}
