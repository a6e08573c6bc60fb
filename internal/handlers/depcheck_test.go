package handlers

import (
	"testing"

	"github.com/regapi/regapi/internal/depcheck"
)

// TestImports keeps the package's boundaries: the HTTP layer talks to
// registries only through registry.Client (plus transport.Error, to read an
// upstream status) and to the cache only through its Outcome.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/go-chi/chi/v5":                                       true,
		"github.com/google/go-containerregistry/pkg/v1":                  true,
		"github.com/hashicorp/golang-lru/v2/simplelru":                   true, // the scoped clients (bounded by entries only), sizedLRU
		"github.com/google/go-containerregistry/pkg/v1/remote/transport": true,
		"github.com/regapi/regapi/api":                                   true,
		"github.com/regapi/regapi/internal/auth":                         true,
		"github.com/regapi/regapi/internal/cache":                        true,
		"github.com/regapi/regapi/internal/extract":                      true,
		"github.com/regapi/regapi/internal/lru":                          true, // the memos
		"github.com/regapi/regapi/internal/redact":                       true,
		"github.com/regapi/regapi/internal/registry":                     true,
		"github.com/regapi/regapi/internal/transfer":                     true,
		// The image table's sort=semver and semver= grammar, a query
		// parameter parser like regexp for include=.
		"github.com/Masterminds/semver/v3": true,
	}
	imports, err := depcheck.Imports(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range imports {
		if !depcheck.IsStd(imp.Path) && !allowed[imp.Path] {
			t.Errorf("%s imports %s; the HTTP layer may import only %v", imp.File, imp.Path, allowed)
		}
	}
}
