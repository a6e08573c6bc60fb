package handlers

import (
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The query parameters the read routes share: platform=, limit= and the
// boolean flags, and the bound on caller text echoed in a problem.

// parsePlatform parses os/arch[/variant]; "" means none asked for.
func parsePlatform(s string) (*v1.Platform, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, errorf(codePlatformInvalid, "invalid platform %q: want os/arch[/variant]", truncate(s))
	}
	for _, p := range parts {
		if !validPlatformPart(p) {
			return nil, errorf(codePlatformInvalid, "invalid platform %q: want os/arch[/variant]", truncate(s))
		}
	}
	// Platforms are lowercase by convention (GOOS/GOARCH); LINUX/AMD64
	// means the same and is matched (and cached) as linux/amd64.
	p := &v1.Platform{OS: strings.ToLower(parts[0]), Architecture: strings.ToLower(parts[1])}
	if len(parts) == 3 {
		p.Variant = strings.ToLower(parts[2])
	}
	return p, nil
}

// Listing limits.
const (
	defaultLimit = 100
	// maxLimit is what registries commonly accept per page (ECR rejects
	// n > 1000); larger values are clamped, not refused.
	maxLimit = 1000
)

// parseLimit reads ?limit=: default defaultLimit, clamped to maxLimit.
func parseLimit(s string) (int, error) {
	if s == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, errorf(codePaginationInvalid, "invalid limit %q: want a positive integer", truncate(s))
	}
	return min(n, maxLimit), nil
}

// parseBool reads a boolean flag such as ?raw=.
func parseBool(name, s string) (bool, error) {
	switch s {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, errorf(codeParameterInvalid, "invalid %s %q: want true or false (1 and 0 are read as such)", name, truncate(s))
}

// truncate bounds caller-supplied text echoed in a detail.
func truncate(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
