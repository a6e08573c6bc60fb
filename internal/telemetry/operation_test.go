package telemetry

import (
	"net/http"
	"strings"
	"testing"
)

func TestOperation(t *testing.T) {
	tests := []struct {
		method, url, ctype, want string
	}{
		{"GET", "https://r.example/v2/", "", OpPing},
		{"GET", "https://r.example/v2", "", OpPing},
		{"GET", "https://r.example/v2/_catalog?n=100", "", OpCatalog},
		{"GET", "https://r.example/v2/library/nginx/tags/list", "", OpTags},
		{"GET", "https://r.example/v2/a/b/c/tags/list?n=10&last=x", "", OpTags},
		{"GET", "https://r.example/v2/library/nginx/manifests/latest", "", OpManifest},
		{"HEAD", "https://r.example/v2/library/nginx/manifests/sha256:abc", "", OpManifest},
		{"PUT", "https://r.example/v2/org/app/manifests/v1", "", OpManifest},
		{"GET", "https://r.example/v2/library/nginx/blobs/sha256:abc", "", OpBlob},
		{"HEAD", "https://r.example/v2/library/nginx/blobs/sha256:abc", "", OpBlob},
		{"POST", "https://r.example/v2/org/app/blobs/uploads/", "", OpUpload},
		{"POST", "https://r.example/v2/org/app/blobs/uploads/?mount=sha256:a&from=x", "", OpUpload},
		{"PATCH", "https://r.example/v2/org/app/blobs/uploads/5f1c-uuid", "", OpUpload},
		{"PUT", "https://r.example/v2/org/app/blobs/uploads/5f1c-uuid?digest=sha256:a", "", OpUpload},
		{"GET", "https://r.example/v2/org/app/referrers/sha256:abc", "", OpReferrers},
		// Repository names that contain the keywords as components.
		{"GET", "https://r.example/v2/manifests/tags/list", "", OpTags},
		{"GET", "https://r.example/v2/blobs/uploads/manifests/latest", "", OpManifest},
		{"GET", "https://r.example/v2/tags/list/blobs/sha256:abc", "", OpBlob},
		{"GET", "https://r.example/v2/token/manifests/latest", "", OpManifest},
		{"GET", "https://r.example/v2/org/app/manifests/token", "", OpManifest},
		// Token realms.
		{"GET", "https://auth.docker.io/token?service=registry.docker.io&scope=repository:library/nginx:pull", "", OpToken},
		{"GET", "https://gcr.io/v2/token?scope=repository:p/i:pull&service=gcr.io", "", OpToken},
		{"GET", "https://quay.io/v2/auth?service=quay.io", "", OpToken},
		// Without scope or service a bare /token GET is storage-shaped;
		// ggcr always sends both, so real token requests never land here.
		{"GET", "https://ghcr.io/token", "", OpStorage},
		{"POST", "https://auth.example/oauth2/token", "application/x-www-form-urlencoded", OpToken},
		// Elsewhere: a blob redirected to object storage.
		{"GET", "https://storage.example/docker/registry/v2/blobs/sha256/ab/abc/data?X-Amz-Signature=s", "", OpStorage},
		{"GET", "https://r.example/v2/library", "", OpOther},
		{"GET", "https://r.example/v2/library/nginx/whatever/x", "", OpOther},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, tt.url, nil)
		if err != nil {
			t.Fatalf("NewRequest(%q): %v", tt.url, err)
		}
		if tt.ctype != "" {
			req.Header.Set("Content-Type", tt.ctype)
		}
		if got := Operation(req); got != tt.want {
			t.Errorf("Operation(%s %s) = %q, want %q", tt.method, tt.url, got, tt.want)
		}
		if strings.Contains(Operation(req), "nginx") {
			t.Errorf("Operation(%s %s) leaks the repository", tt.method, tt.url)
		}
	}
}
