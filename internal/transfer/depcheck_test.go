package transfer

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
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
			bad := false
			for _, p := range forbidden {
				bad = bad || path == p || strings.HasPrefix(path, p+"/")
			}
			if !bad && strings.Contains(strings.SplitN(path, "/", 2)[0], ".") {
				bad = true
				for _, p := range allowedPrefixes {
					bad = bad && !strings.HasPrefix(path, p)
				}
			}
			if bad {
				t.Errorf("%s imports %s, which transfer must not depend on", name, path)
			}
		}
	}
}
