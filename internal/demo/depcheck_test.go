package demo

import (
	"slices"
	"strings"
	"testing"

	"github.com/regapi/regapi/internal/depcheck"
)

// demo builds and serves sample content with go-containerregistry alone; it
// knows nothing of regapi's HTTP layer (handlers) or of the binaries that
// wire it (cmd).
func TestDependencies(t *testing.T) {
	allowedPrefixes := []string{"github.com/google/go-containerregistry/"}
	forbidden := []string{"github.com/regapi/regapi/internal/handlers", "github.com/regapi/regapi/cmd"}
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
			t.Errorf("%s imports %s, which demo must not depend on", imp.File, path)
		}
	}
}
