package check

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// stampVars are the variables the Dockerfile sets with -ldflags -X. The
// linker silently ignores -X for a variable that does not exist or is not a
// plain string, so an image would ship unstamped without this test.
var stampVars = []string{"version", "revision"}

// stampable reports, for each name, whether package main in dir declares it
// as a package-level string variable that -X can set: typed string or
// initialised with a string literal (not a function call or other variable).
func stampable(t *testing.T, dir string) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, path := range matches {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		if f.Name.Name != "main" {
			continue
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.VAR {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					found[name.Name] = isStringVar(vs, i)
				}
			}
		}
	}
	return found
}

func isStringVar(vs *ast.ValueSpec, i int) bool {
	if len(vs.Values) == 0 {
		id, ok := vs.Type.(*ast.Ident)
		return ok && id.Name == "string"
	}
	if id, ok := vs.Type.(*ast.Ident); vs.Type != nil && (!ok || id.Name != "string") {
		return false
	}
	lit, ok := vs.Values[i].(*ast.BasicLit)
	return ok && lit.Kind == token.STRING
}

// TestServerDeclaresStampVars: the Dockerfile's -X main.version and
// -X main.revision land in real variables of cmd/server.
func TestServerDeclaresStampVars(t *testing.T) {
	found := stampable(t, filepath.Join(repoRoot(t), "cmd", "server"))
	for _, name := range stampVars {
		if !found[name] {
			t.Errorf("cmd/server declares no package-level string var %s; -ldflags -X main.%s=… would be ignored (add: var %s = \"dev\")", name, name, name)
		}
	}
}

func TestIsStringVar(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		{`var version string`, true},
		{`var version = "dev"`, true},
		{`var version string = "dev"`, true},
		{`var version = defaultVersion()`, false},
		{`var version = other`, false},
		{`var version int`, false},
		{`var version []byte`, false},
	}
	for _, tt := range tests {
		f, err := parser.ParseFile(token.NewFileSet(), "x.go", "package main\n"+tt.src+"\n", 0)
		if err != nil {
			t.Fatal(err)
		}
		vs := f.Decls[0].(*ast.GenDecl).Specs[0].(*ast.ValueSpec)
		if got := isStringVar(vs, 0); got != tt.want {
			t.Errorf("isStringVar(%q) = %v, want %v", tt.src, got, tt.want)
		}
	}
}
