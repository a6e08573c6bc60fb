// Package depcheck lists the imports of a package's Go files, for the
// depcheck_test.go of each package that asserts what it may depend on.
// Each test keeps its own rules; only the reading of imports is shared.
package depcheck

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Import is one import of one source file.
type Import struct {
	// File is the file's name inside the directory.
	File string
	// Path is the imported package path.
	Path string
}

// Imports returns the imports of every non-test .go file in dir, by file
// name and then in source order. It fails when dir has no such file, so
// that a check run in the wrong place cannot pass by seeing nothing.
func Imports(dir string) ([]Import, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	fset := token.NewFileSet()
	var out []Import
	checked := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ImportsOnly)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return nil, fmt.Errorf("%s: import %s: %w", name, imp.Path.Value, err)
			}
			out = append(out, Import{File: name, Path: path})
		}
		checked++
	}
	if checked == 0 {
		return nil, errors.New("no non-test go files in " + dir)
	}
	return out, nil
}

// IsStd reports whether path is in the standard library: its first
// element has no dot, as a module path's host does.
func IsStd(path string) bool {
	return !strings.Contains(strings.SplitN(path, "/", 2)[0], ".")
}
