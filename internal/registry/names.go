package registry

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// The OCI distribution spec's grammars, matched by hand-written byte loops
// rather than regexps: they run on every request, and in a CPU profile of
// cached reads regexp matching takes 3-5% of the request's time. Each
// accepts exactly the language of the expression in its comment
// (names_match_test.go checks them against those expressions, by table and
// by fuzzing). The grammars are ASCII-only, so lengths in bytes and in
// characters agree on any input they accept.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests

// ValidPathComponent reports whether s is one repository path component:
// ^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$, runs of lowercase alphanumerics
// joined by ".", "_", "__" or one or more "-". The components of a
// repository name are joined by "/".
func ValidPathComponent(s string) bool {
	i := 0
	for {
		// [a-z0-9]+
		start := i
		for i < len(s) && isLowerAlnum(s[i]) {
			i++
		}
		if i == start {
			return false
		}
		if i == len(s) {
			return true
		}
		// \.|_|__|-+, which must be followed by another run.
		switch s[i] {
		case '.':
			i++
		case '_':
			i++
			if i < len(s) && s[i] == '_' {
				i++
			}
		case '-':
			for i < len(s) && s[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

// ValidTag reports whether s is a tag: ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$.
func ValidTag(s string) bool {
	if len(s) < 1 || len(s) > 128 || !isAlnum(s[0]) && s[0] != '_' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// ValidDigest reports whether s is a sha256 digest: ^sha256:[a-f0-9]{64}$.
func ValidDigest(s string) bool {
	hex, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; ('0' > c || c > '9') && ('a' > c || c > 'f') {
			return false
		}
	}
	return true
}

// isLowerAlnum reports whether c is in [a-z0-9].
func isLowerAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

// isAlnum reports whether c is in [A-Za-z0-9].
func isAlnum(c byte) bool {
	return isLowerAlnum(c) || 'A' <= c && c <= 'Z'
}

// maxNameLength is distribution's limit on a repository name (including the
// host, which we leave out because the registry does too).
const maxNameLength = 255

// validatePath checks a repository path ("org/app") against the grammar.
func validatePath(path string) error {
	if path == "" {
		return fmt.Errorf("%w: empty repository path", ErrInvalidName)
	}
	if len(path) > maxNameLength {
		return fmt.Errorf("%w: %d characters, more than %d", ErrInvalidName, len(path), maxNameLength)
	}
	for _, c := range strings.Split(path, "/") {
		if !ValidPathComponent(c) {
			return fmt.Errorf("%w: %q: component %q breaks the OCI name grammar", ErrInvalidName, path, c)
		}
	}
	return nil
}

// parseReference turns a tag, "sha256:<hex>" or "@sha256:<hex>" into a
// go-containerregistry reference in repo.
func parseReference(repo name.Repository, ref string) (name.Reference, error) {
	d := strings.TrimPrefix(ref, "@")
	switch {
	case ValidDigest(d):
		r, err := name.NewDigest(repo.Name()+"@"+d, name.StrictValidation)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrInvalidReference, ref, err)
		}
		return r, nil
	case ValidTag(ref):
		return repo.Tag(ref), nil
	default:
		return nil, fmt.Errorf("%w: %q is neither a tag nor a sha256 digest", ErrInvalidReference, ref)
	}
}

// splitHost separates "host[:port][/path]" into the host and the path.
func splitHost(s string) (host, path string) {
	host, path, _ = strings.Cut(s, "/")
	return host, path
}

// joinPath appends segments to base, skipping nothing: an empty segment is
// kept so that validation rejects it.
func joinPath(base string, segments []string) string {
	parts := make([]string, 0, len(segments)+1)
	if base != "" {
		parts = append(parts, base)
	}
	parts = append(parts, segments...)
	return strings.Join(parts, "/")
}
