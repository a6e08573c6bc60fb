package registry

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// The OCI distribution spec's repository name grammar: path components of
// lowercase alphanumerics joined by ".", "_", "__" or runs of "-", and the
// components joined by "/".
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests
var (
	pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$`)
	tagPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
	digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

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
		if !pathComponent.MatchString(c) {
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
	case digestPattern.MatchString(d):
		r, err := name.NewDigest(repo.Name()+"@"+d, name.StrictValidation)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrInvalidReference, ref, err)
		}
		return r, nil
	case tagPattern.MatchString(ref):
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
