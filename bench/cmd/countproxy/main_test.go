package main

import "testing"

func TestKindOf(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/v2/", "ping"},
		{"/v2", "ping"},
		{"/v2/corpus/burst/manifests/cold", "manifests"},
		{"/v2/a/b/c/manifests/sha256:abc", "manifests"},
		{"/v2/corpus/big/blobs/sha256:abc", "blobs"},
		{"/v2/corpus/tags/tags/list", "tags"},
		{"/v2/_catalog", "other"},
	} {
		if got := kindOf(tc.path); got != tc.want {
			t.Errorf("kindOf(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
