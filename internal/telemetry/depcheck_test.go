package telemetry

import (
	"slices"
	"strings"
	"testing"

	"github.com/regapi/regapi/internal/depcheck"
)

// The package sits beside the HTTP layer, not inside it: it may read chi's
// routing context, the cache's outcome and auth's client address, and
// nothing else of regapi.
func TestDependencies(t *testing.T) {
	allowed := []string{
		"github.com/go-chi/chi/v5",
		"github.com/prometheus/client_golang/",
		"github.com/regapi/regapi/internal/auth",
		"github.com/regapi/regapi/internal/cache",
		"github.com/regapi/regapi/internal/redact",
	}
	imports, err := depcheck.Imports(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range imports {
		path := imp.Path
		if depcheck.IsStd(path) {
			continue
		}
		// An entry ending in "/" allows everything under it.
		ok := slices.ContainsFunc(allowed, func(a string) bool {
			return path == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(path, a))
		})
		if !ok {
			t.Errorf("%s imports %s, which telemetry may not depend on", imp.File, path)
		}
	}
}
