package lru

import (
	"testing"

	"github.com/regapi/regapi/internal/depcheck"
)

// TestImports keeps the package a leaf: the standard library and the LRU
// library it wraps.
func TestImports(t *testing.T) {
	imports, err := depcheck.Imports(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range imports {
		if !depcheck.IsStd(imp.Path) && imp.Path != "github.com/hashicorp/golang-lru/v2/simplelru" {
			t.Errorf("%s imports %s, want only the standard library and simplelru", imp.File, imp.Path)
		}
	}
}
