package check

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Build arguments passed to the emulated image build; TestDockerfileBuild
// finds them in the binary.
const (
	stampVersion  = "v0.0.0-deploy-check"
	stampRevision = "0123456789abcdef0123456789abcdef01234567"
)

// imageBinary is the server built by the Dockerfile's own go build command,
// once per test binary: TestDockerfileBuild inspects it and
// TestServerAcceptsChart runs it.
var imageBinary struct {
	once sync.Once
	path string
	err  error
}

// binaryDir holds imageBinary; TestMain removes it.
var binaryDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// goBuildOutput matches the -o flag of the Dockerfile's go build.
var goBuildOutput = regexp.MustCompile(`-o\s+\S+`)

// buildLikeDockerfile runs the builder stage's go build command line, as the
// Dockerfile writes it, in the repository root (no Docker needed): same
// flags, same environment, same build arguments; only -o points elsewhere.
func buildLikeDockerfile(t *testing.T) string {
	t.Helper()
	imageBinary.once.Do(func() {
		imageBinary.path, imageBinary.err = runDockerfileBuild(t)
	})
	if imageBinary.err != nil {
		t.Fatal(imageBinary.err)
	}
	return imageBinary.path
}

func runDockerfileBuild(t *testing.T) (string, error) {
	root := repoRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return "", err
	}
	var line string
	for _, c := range parseDockerfile(t, src)[0].Commands {
		if run, ok := c.(*instructions.RunCommand); ok && strings.Contains(strings.Join(run.CmdLine, " "), "go build") {
			line = strings.Join(run.CmdLine, " ")
		}
	}
	if line == "" {
		return "", fmt.Errorf("the Dockerfile's first stage has no go build")
	}
	binaryDir, err = os.MkdirTemp("", "regapi-deploy-check")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(binaryDir, "regapi")
	line = goBuildOutput.ReplaceAllLiteralString(line, `-o "$REGAPI_OUT"`)
	goos, goarch := goEnv(t, "GOOS"), goEnv(t, "GOARCH")
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"REGAPI_OUT="+bin,
		"TARGETOS="+goos, "TARGETARCH="+goarch,
		"VERSION="+stampVersion, "REVISION="+stampRevision,
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("Dockerfile's go build (%s): %v\n%s", line, err, out)
	}
	return bin, nil
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// TestDockerfileBuild: the Dockerfile's go build works on the current tree
// and yields a static, trimmed binary carrying the version and revision.
func TestDockerfileBuild(t *testing.T) {
	bin := buildLikeDockerfile(t)
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	info := string(out)
	for _, want := range []string{"\tCGO_ENABLED=0\n", "\t-trimpath=true\n", "\tpath\tgithub.com/regapi/regapi/cmd/server\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("go version -m %s lacks %q:\n%s", filepath.Base(bin), strings.TrimSpace(want), info)
		}
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, stamp := range []string{stampVersion, stampRevision} {
		if !bytes.Contains(b, []byte(stamp)) {
			t.Errorf("binary does not contain the stamped %q: -X main.version/main.revision had no effect", stamp)
		}
	}
}
