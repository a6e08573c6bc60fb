package extract

import (
	gobuild "go/build"
	"strings"
	"testing"
)

// TestImports keeps the package's boundary: go-containerregistry's v1
// types, klauspost/compress and the standard library, and nothing that
// serves HTTP.
func TestImports(t *testing.T) {
	pkg, err := gobuild.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{
		"github.com/google/go-containerregistry/pkg/v1",
		"github.com/klauspost/compress/",
	}
	for _, imp := range pkg.Imports {
		if !strings.Contains(imp, ".") { // the standard library
			if strings.HasPrefix(imp, "net") {
				t.Errorf("extract imports %q; it must not know about networking or HTTP", imp)
			}
			continue
		}
		ok := false
		for _, a := range allowed {
			if imp == a || strings.HasPrefix(imp, a) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("extract imports %q; allowed are ggcr's v1 types, klauspost/compress and std", imp)
		}
	}
}
