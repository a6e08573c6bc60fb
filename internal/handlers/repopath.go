package handlers

import (
	"strings"

	"github.com/regapi/regapi/internal/registry"
)

// repoRequest is a parsed path below /api/v1/repos/.
type repoRequest struct {
	// Registry is the configured upstream's name.
	Registry string
	// Repository is the repository path; empty at the registry's root.
	Repository string
	// Reference is a tag or "sha256:<hex>" (normalised: no "@").
	Reference string
	// Digest says whether Reference is a digest.
	Digest bool
	// Path is the absolute path inside the image that follows the
	// reference on the files route ("/" for the root).
	Path string
	// DirOnly says the files route's path ended in "/": it names a
	// directory, and a file there is not the answer (as open(2) says
	// ENOTDIR for "file/").
	DirOnly bool
	// Route is the logical route the path matched.
	Route *repoRoute
}

// clientRef returns the reference as the registry client takes it.
func (rr repoRequest) clientRef() string {
	if rr.Digest {
		return "@" + rr.Reference
	}
	return rr.Reference
}

// segments returns the repository path's components, one per WithSegment
// argument.
func (rr repoRequest) segments() []string {
	if rr.Repository == "" {
		return nil
	}
	return strings.Split(rr.Repository, "/")
}

// The grammars below are matched by hand-written byte loops rather than
// regexps: they run on every request, and in a CPU profile of cached reads
// regexp matching takes 3-5% of the request's time. Each accepts exactly
// the language of the expression in its comment (names_match_test.go checks
// them against those expressions, by table and by fuzzing). The grammars
// are ASCII-only, so lengths in bytes and in characters agree on any input
// they accept. Repository path components, tags and digests follow the OCI
// distribution spec, whose grammar the registry package owns
// (registry.ValidPathComponent, ValidTag, ValidDigest); the two below are
// regapi's own.

// validRegistryName reports whether s is an upstream's configured name:
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
func validRegistryName(s string) bool {
	return len(s) >= 1 && len(s) <= 64 && isAlnum(s[0]) && allNameChars(s[1:])
}

// validPlatformPart reports whether s is one component of os/arch[/variant]:
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$.
func validPlatformPart(s string) bool {
	return len(s) >= 1 && len(s) <= 32 && isAlnum(s[0]) && allNameChars(s[1:])
}

// isAlnum reports whether c is in [A-Za-z0-9].
func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z'
}

// allNameChars reports whether every byte of s is in [A-Za-z0-9._-].
func allNameChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// maxRepositoryLen is the distribution registry's limit on a repository
// name (reference.NameTotalLengthMax).
const maxRepositoryLen = 255

// parseRepoPath parses path, the part of the URL path after /api/v1/repos/:
// {registry}[/{repository…}]/-/{action}[/{reference}]. It validates every
// part, so that nothing malformed reaches an upstream.
func parseRepoPath(path string) (repoRequest, error) {
	left, right, ok := strings.Cut(path, "/-/")
	if !ok {
		return repoRequest{}, errorf(codeNotFound, "expected /api/v1/repos/{registry}/{repository…}/-/{action}")
	}
	var rr repoRequest
	reg, repo, hasRepo := strings.Cut(left, "/")
	if err := validateRegistryName(reg); err != nil {
		return repoRequest{}, err
	}
	rr.Registry = reg
	if hasRepo {
		if err := validateRepository(repo); err != nil {
			return repoRequest{}, err
		}
		rr.Repository = repo
	}
	action, rest, hasRest := strings.Cut(right, "/")
	rt := findRepoRoute(action, hasRepo, hasRest)
	if rt == nil {
		if findRepoRoute(action, !hasRepo, hasRest) != nil {
			return repoRequest{}, errorf(codeNameInvalid, "%s needs a repository path before /-/", action)
		}
		return repoRequest{}, errorf(codeNotFound, "unknown action %q after /-/", truncate(action))
	}
	rr.Route = rt
	switch {
	case rt.Reference && !hasRest:
		return repoRequest{}, errorf(codeReferenceInvalid, "%s needs a reference: /-/%s/{reference}", action, action)
	case rt.Reference && rt.hasPath():
		ref, p, _ := strings.Cut(rest, "/")
		var err error
		if rr.Reference, rr.Digest, err = parseReference(ref); err != nil {
			return repoRequest{}, err
		}
		if strings.HasPrefix(p, "/") {
			// One spelling per path: "v1//etc" is not "v1/etc".
			return repoRequest{}, errorf(codePathInvalid, "invalid path %q: want a clean path (no empty component)", truncate(p))
		}
		if rr.Path, err = parseImagePath(p); err != nil {
			return repoRequest{}, err
		}
		rr.DirOnly = strings.HasSuffix(p, "/")
	case rt.Reference:
		ref, digest, err := parseReference(rest)
		if err != nil {
			return repoRequest{}, err
		}
		rr.Reference, rr.Digest = ref, digest
	case hasRest:
		return repoRequest{}, errorf(codeNotFound, "nothing may follow /-/%s", action)
	}
	return rr, nil
}

// validateRegistryName checks an upstream name's syntax; whether it is
// configured is the handler's question.
func validateRegistryName(name string) error {
	if !validRegistryName(name) {
		return errorf(codeNameInvalid, "invalid registry name %q", truncate(name))
	}
	return nil
}

// validateRepository checks a repository path against the OCI name grammar.
func validateRepository(repo string) error {
	if repo == "" {
		return errorf(codeNameInvalid, "empty repository path")
	}
	if len(repo) > maxRepositoryLen {
		return errorf(codeNameInvalid, "repository path longer than %d characters", maxRepositoryLen)
	}
	for c := range strings.SplitSeq(repo, "/") {
		if !registry.ValidPathComponent(c) {
			return errorf(codeNameInvalid, "invalid repository path component %q: lowercase letters, digits and single separators (., _, __, -) only", truncate(c))
		}
	}
	return nil
}

// parseReference accepts a tag, "sha256:<64 hex>" or "@sha256:<64 hex>" and
// returns the normalised reference and whether it is a digest.
func parseReference(s string) (string, bool, error) {
	if s == "" {
		return "", false, errorf(codeReferenceInvalid, "empty reference")
	}
	d, at := strings.CutPrefix(s, "@")
	if at || strings.Contains(s, ":") {
		if !registry.ValidDigest(d) {
			return "", false, errorf(codeDigestInvalid, "invalid digest %q: want sha256:<64 lowercase hex>", truncate(s))
		}
		return d, true, nil
	}
	if !registry.ValidTag(s) {
		return "", false, errorf(codeReferenceInvalid, "invalid tag %q: want [A-Za-z0-9_][A-Za-z0-9._-]{0,127}", truncate(s))
	}
	return s, false, nil
}
