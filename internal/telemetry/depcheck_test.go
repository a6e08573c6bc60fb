package telemetry

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The package sits beside the HTTP layer, not inside it: it may read chi's
// routing context and the cache's outcome, and nothing else of regapi.
func TestDependencies(t *testing.T) {
	allowed := []string{
		"github.com/go-chi/chi/v5",
		"github.com/prometheus/client_golang/",
		"github.com/regapi/regapi/internal/cache",
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.Contains(strings.SplitN(path, "/", 2)[0], ".") {
				continue // standard library
			}
			ok := false
			for _, a := range allowed {
				if path == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(path, a)) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s imports %s, which telemetry may not depend on", name, path)
			}
		}
	}
}
