package auth

import (
	"testing"

	"github.com/regapi/regapi/internal/depcheck"
)

// TestImports keeps the package a leaf: the standard library and the three
// libraries it wraps, nothing of regapi's own and no HTTP router.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/go-chi/httprate": true,
		"github.com/go-chi/cors":     true,
		"sigs.k8s.io/yaml":           true,
		// The one copy of the redaction rules, itself a leaf.
		"github.com/regapi/regapi/internal/redact": true,
	}
	imports, err := depcheck.Imports(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range imports {
		if !depcheck.IsStd(imp.Path) && !allowed[imp.Path] {
			t.Errorf("%s imports %s, want only the standard library and %v", imp.File, imp.Path, allowed)
		}
	}
}
