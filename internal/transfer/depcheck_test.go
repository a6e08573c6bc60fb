package transfer

import (
	"slices"
	"strings"
	"testing"

	"github.com/regapi/regapi/internal/depcheck"
)

// transfer moves images with the registry client and go-containerregistry's
// types; it knows nothing about HTTP serving, the router or the cache.
func TestDependencies(t *testing.T) {
	allowedPrefixes := []string{
		"github.com/google/go-containerregistry/pkg/v1",
		"github.com/klauspost/compress/",
		"github.com/regapi/regapi/internal/registry",
	}
	forbidden := []string{"net/http", "github.com/regapi/regapi/internal/registry/registrytest"}
	imports, err := depcheck.Imports(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range imports {
		path := imp.Path
		bad := slices.ContainsFunc(forbidden, func(p string) bool {
			return path == p || strings.HasPrefix(path, p+"/")
		})
		if !bad && !depcheck.IsStd(path) {
			bad = !slices.ContainsFunc(allowedPrefixes, func(p string) bool { return strings.HasPrefix(path, p) })
		}
		if bad {
			t.Errorf("%s imports %s, which transfer must not depend on", imp.File, path)
		}
	}
}
