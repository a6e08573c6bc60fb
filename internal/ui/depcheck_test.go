package ui

import (
	"testing"

	"github.com/regapi/regapi/internal/depcheck"
)

// TestImports keeps the package what its doc says: static files and
// headers, the standard library only; nothing of registries or the API.
func TestImports(t *testing.T) {
	imports, err := depcheck.Imports(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range imports {
		if !depcheck.IsStd(imp.Path) {
			t.Errorf("%s imports %s, want only the standard library", imp.File, imp.Path)
		}
	}
}
