package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// dockerignore reads the repository's .dockerignore the way docker build does.
func dockerignore(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatalf("read .dockerignore: %v", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore patterns: %v", err)
	}
	return pm
}

// buildInputs lists, relative to the repository root, every file go build
// ./cmd/server reads from the main module: go.mod, go.sum and each
// package's Go, assembly and embedded files.
func buildInputs(t *testing.T) []string {
	t.Helper()
	root := repoRoot(t)
	cmd := exec.Command("go", "list", "-e", "-deps", "-json", "./cmd/server")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./cmd/server: %v\n%s", err, stderr.String())
	}
	files := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Dir        string
			Module     *struct{ Main bool }
			Error      *struct{ Err string }
			GoFiles    []string
			SFiles     []string
			EmbedFiles []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		for _, f := range slices.Concat(p.GoFiles, p.SFiles, p.EmbedFiles) {
			rel, err := filepath.Rel(root, filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, filepath.ToSlash(rel))
		}
	}
	if len(files) <= 2 {
		t.Fatalf("go list ./cmd/server found no source files in the main module")
	}
	return files
}

// TestDockerignoreKeepsBuildInputs: nothing the image build needs is left out
// of the build context.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	pm := dockerignore(t)
	for _, f := range buildInputs(t) {
		excluded, err := pm.MatchesOrParentMatches(f)
		if err != nil {
			t.Fatal(err)
		}
		if excluded {
			t.Errorf(".dockerignore excludes %s, which go build ./cmd/server reads", f)
		}
	}
}

// TestDockerignoreExcludes: what the image must not see stays out.
func TestDockerignoreExcludes(t *testing.T) {
	pm := dockerignore(t)
	for _, f := range []string{
		".git/config",
		"deploy/helm/regapi/values.yaml",
		"deploy/check/go.mod",
		"internal/handlers/routes_test.go",
		"internal/extract/testdata/x.tar",
		"regapi",
	} {
		excluded, err := pm.MatchesOrParentMatches(f)
		if err != nil {
			t.Fatal(err)
		}
		if !excluded {
			t.Errorf(".dockerignore keeps %s in the build context, want it excluded", f)
		}
	}
}
