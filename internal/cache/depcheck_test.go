package cache

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The cache sits between the HTTP layer and the registry client and knows
// neither HTTP serving nor the handlers: it may use the registry contract,
// go-containerregistry's types, the LRU and Prometheus, and no net/http.
func TestDependencies(t *testing.T) {
	allowed := []string{
		"github.com/google/go-containerregistry/pkg/v1",
		"github.com/google/go-containerregistry/pkg/v1/remote/transport",
		"github.com/hashicorp/golang-lru/v2/simplelru",
		"github.com/prometheus/client_golang/prometheus",
		"github.com/regapi/regapi/internal/registry",
	}
	forbiddenStd := []string{"net/http"}
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
			std := !strings.Contains(strings.SplitN(path, "/", 2)[0], ".")
			bad := false
			switch {
			case std:
				for _, f := range forbiddenStd {
					bad = bad || path == f || strings.HasPrefix(path, f+"/")
				}
			default:
				bad = true
				for _, a := range allowed {
					bad = bad && path != a
				}
			}
			if bad {
				t.Errorf("%s imports %s, which the cache may not depend on", name, path)
			}
		}
	}
}
