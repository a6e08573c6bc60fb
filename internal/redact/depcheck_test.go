package redact

import (
	"testing"

	"github.com/regapi/regapi/internal/depcheck"
)

// TestImports keeps the package a leaf of the standard library, so that
// every other package, the leaves included, may call it.
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
