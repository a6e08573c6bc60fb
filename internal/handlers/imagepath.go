package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxImagePathLen bounds a path inside an image, as Linux's PATH_MAX.
const maxImagePathLen = 4096

// parseImagePath validates a path inside an image, from ?path= or the
// files route, and returns it absolute ("/etc/os-release"; "" and "/" are
// the root). It must already be clean: no NUL, no empty, "." or ".."
// component (a trailing "/" is allowed). Nothing can name a place outside
// the image root, and a path has one spelling, so one ETag.
func parseImagePath(p string) (string, error) {
	if len(p) > maxImagePathLen {
		return "", errorf(codePathInvalid, "path longer than %d bytes", maxImagePathLen)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", errorf(codePathInvalid, "path contains a NUL byte")
	}
	rel := strings.TrimPrefix(p, "/")
	rel = strings.TrimSuffix(rel, "/")
	if rel == "" {
		return "/", nil
	}
	for c := range strings.SplitSeq(rel, "/") {
		switch c {
		case "", ".", "..":
			return "", errorf(codePathInvalid, "invalid path %q: want a clean path (no empty, . or .. components)", truncate(p))
		}
	}
	return "/" + rel, nil
}

// pathETag is the entity tag of an answer that is a function of a manifest
// digest and a path inside the image: the digest's hex and 64 bits of the
// path's hash.
func pathETag(digest, p string) string {
	sum := sha256.Sum256([]byte(p))
	_, hexDigest, _ := strings.Cut(digest, ":")
	return `"` + hexDigest + "-" + hex.EncodeToString(sum[:8]) + `"`
}
