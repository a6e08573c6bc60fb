package handlers

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package's boundaries: the HTTP layer talks to
// registries only through registry.Client (plus transport.Error, to read an
// upstream status) and to the cache only through its Outcome.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/go-chi/chi/v5":                                       true,
		"github.com/google/go-containerregistry/pkg/v1":                  true,
		"github.com/google/go-containerregistry/pkg/v1/remote/transport": true,
		"github.com/regapi/regapi/api":                                   true,
		"github.com/regapi/regapi/internal/auth":                         true,
		"github.com/regapi/regapi/internal/cache":                        true,
		"github.com/regapi/regapi/internal/extract":                      true,
		"github.com/regapi/regapi/internal/registry":                     true,
		"github.com/regapi/regapi/internal/transfer":                     true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.Contains(strings.SplitN(path, "/", 2)[0], ".") {
				continue // standard library
			}
			if !allowed[path] {
				t.Errorf("%s imports %s; the HTTP layer may import only %v", f, path, allowed)
			}
		}
	}
}
