package depcheck

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestImports(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.go":      "package p\n\nimport (\n\t\"fmt\"\n\tx \"example.com/x\"\n)\n",
		"b.go":      "package p\n\nimport \"net/http\"\n",
		"a_test.go": "package p\n\nimport \"testing\"\n",
		"notes.txt": "import \"example.com/ignored\"\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Imports(dir)
	if err != nil {
		t.Fatalf("Imports(%s) error = %v", dir, err)
	}
	want := []Import{{"a.go", "fmt"}, {"a.go", "example.com/x"}, {"b.go", "net/http"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Imports(%s) mismatch (-want +got):\n%s", dir, diff)
	}
}

func TestImportsEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x_test.go"), []byte("package p\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Imports(dir); err == nil {
		t.Errorf("Imports(only tests) = %v, nil, want an error", got)
	}
}

func TestIsStd(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"fmt", true},
		{"net/http", true},
		{"github.com/go-chi/chi/v5", false},
		{"sigs.k8s.io/yaml", false},
	} {
		if got := IsStd(tc.path); got != tc.want {
			t.Errorf("IsStd(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}
