package config

import (
	"strings"
	"testing"

	"github.com/regapi/regapi/internal/depcheck"
)

// TestImports keeps the package what its documentation says: it reads
// settings and serves nothing. It may name the constants of the packages
// whose settings it declares, but it does not import net/http itself, nor
// cmd.
func TestImports(t *testing.T) {
	imports, err := depcheck.Imports(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range imports {
		if imp.Path == "net/http" || strings.HasPrefix(imp.Path, "net/http/") || strings.HasPrefix(imp.Path, "github.com/regapi/regapi/cmd") {
			t.Errorf("%s imports %s; the config package serves nothing", imp.File, imp.Path)
		}
	}
}
