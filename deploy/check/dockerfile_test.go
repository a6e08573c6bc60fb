package check

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// parseDockerfile parses src with BuildKit's own parser into stages and
// fails on any parse warning or lint finding.
func parseDockerfile(t *testing.T, src []byte) []instructions.Stage {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		t.Fatalf("parse Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile parse warning: %s", w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, desc, _, msg string, loc []parser.Range) {
		t.Errorf("Dockerfile lint %s at %v: %s", rule, loc, msg)
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile instructions: %v", err)
	}
	return stages
}

// pinnedTag is an explicit version tag such as 1.26.8-bookworm or nonroot
// with a digest; never latest, never a bare major.
var pinnedTag = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+`)

// checkDockerfile returns what is wrong with the stages, each as one line.
func checkDockerfile(stages []instructions.Stage, goVersion string) []string {
	var problems []string
	if len(stages) < 2 {
		return []string{fmt.Sprintf("%d stages, want a multi-stage build", len(stages))}
	}
	names := map[string]bool{}
	for _, s := range stages {
		if !names[s.BaseName] {
			problems = append(problems, checkBase(s.BaseName)...)
		}
		names[s.Name] = true
	}

	build, final := stages[0], stages[len(stages)-1]
	if !strings.HasPrefix(build.BaseName, "golang:"+goVersion+".") {
		problems = append(problems, fmt.Sprintf("builder base %s, want golang:%s.x (go.mod's go directive)", build.BaseName, goVersion))
	}
	problems = append(problems, checkBuild(build)...)

	if !strings.Contains(final.BaseName, "@sha256:") {
		problems = append(problems, fmt.Sprintf("final base %s is not pinned by digest", final.BaseName))
	}
	if !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") && final.BaseName != "scratch" {
		problems = append(problems, fmt.Sprintf("final base %s, want distroless/static or scratch", final.BaseName))
	}
	problems = append(problems, checkFinal(final, build.Name)...)
	return problems
}

// checkBase asserts an external base image is pinned to an explicit version.
func checkBase(ref string) []string {
	if ref == "scratch" {
		return nil
	}
	nameTag, _, hasDigest := strings.Cut(ref, "@")
	slash := strings.LastIndex(nameTag, "/")
	colon := strings.LastIndex(nameTag, ":")
	if colon < slash+1 {
		return []string{fmt.Sprintf("base %s has no tag", ref)}
	}
	tag := nameTag[colon+1:]
	switch {
	case tag == "latest":
		return []string{fmt.Sprintf("base %s uses latest", ref)}
	case strings.Contains(tag, "$"):
		return []string{fmt.Sprintf("base %s has a variable tag", ref)}
	case !pinnedTag.MatchString(tag) && !hasDigest:
		return []string{fmt.Sprintf("base %s: tag %q is neither an x.y.z version nor pinned by digest", ref, tag)}
	}
	return nil
}

// checkBuild asserts the builder makes a static, trimmed, stamped binary
// from ./cmd/server.
func checkBuild(build instructions.Stage) []string {
	var goBuild string
	for _, c := range build.Commands {
		if run, ok := c.(*instructions.RunCommand); ok {
			line := strings.Join(run.CmdLine, " ")
			if strings.Contains(line, "go build") {
				goBuild = line
			}
		}
	}
	if goBuild == "" {
		return []string{"builder stage has no go build"}
	}
	var problems []string
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/server", "-X main.version=", "-X main.revision=", "-o "} {
		if !strings.Contains(goBuild, want) {
			problems = append(problems, fmt.Sprintf("go build lacks %q: %s", want, goBuild))
		}
	}
	return problems
}

// checkFinal asserts the final stage copies only the binary from the
// builder, runs nothing, runs as a numeric non-root user and execs the binary.
func checkFinal(final instructions.Stage, builder string) []string {
	var problems []string
	var user, binary string
	var entrypoint []string
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			if c.From != builder || len(c.SourcePaths) != 1 {
				problems = append(problems, fmt.Sprintf("final stage COPY %v from %q, want one file from %s", c.SourcePaths, c.From, builder))
			}
			binary = c.DestPath
		case *instructions.UserCommand:
			user = c.User
		case *instructions.EntrypointCommand:
			if c.PrependShell {
				problems = append(problems, "ENTRYPOINT in shell form; the image has no shell")
			}
			entrypoint = c.CmdLine
		case *instructions.RunCommand, *instructions.AddCommand:
			problems = append(problems, fmt.Sprintf("final stage has %s; it should hold only the binary", c.Name()))
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		problems = append(problems, fmt.Sprintf("final USER %q, want a numeric non-root uid (runAsNonRoot can only verify numbers)", user))
	}
	if binary == "" || len(entrypoint) == 0 || entrypoint[0] != binary {
		problems = append(problems, fmt.Sprintf("ENTRYPOINT %v, want the copied binary %s", entrypoint, binary))
	}
	return problems
}

// goMinor reads "1.26" from the go directive of the repository's go.mod.
func goMinor(t *testing.T) string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go "); ok {
			parts := strings.SplitN(strings.TrimSpace(v), ".", 3)
			if len(parts) < 2 {
				t.Fatalf("go.mod: go directive %q", v)
			}
			return parts[0] + "." + parts[1]
		}
	}
	t.Fatal("go.mod has no go directive")
	return ""
}

func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkDockerfile(parseDockerfile(t, src), goMinor(t)) {
		t.Error(p)
	}
}

// TestCheckDockerfileCatches feeds the checker bad Dockerfiles, so a check
// that cannot fail is noticed.
func TestCheckDockerfileCatches(t *testing.T) {
	const good = `FROM golang:1.26.8-bookworm AS build
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-X main.version=v -X main.revision=r" -o /out/regapi ./cmd/server
FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /out/regapi /regapi
USER 65532:65532
ENTRYPOINT ["/regapi"]
`
	tests := []struct {
		name    string
		from    string
		to      string
		wantErr string // "" means no problem
	}{
		{name: "good"},
		{name: "latest builder", from: "golang:1.26.8-bookworm", to: "golang:latest", wantErr: "uses latest"},
		{name: "bare major builder", from: "golang:1.26.8-bookworm", to: "golang:1", wantErr: "golang:1.26.x"},
		{name: "untagged builder", from: "golang:1.26.8-bookworm", to: "golang", wantErr: "has no tag"},
		{name: "old go", from: "golang:1.26.8-bookworm", to: "golang:1.24.1", wantErr: "go directive"},
		{name: "final by tag only", from: "nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab", to: "nonroot", wantErr: "pinned by digest"},
		{name: "root user", from: "USER 65532:65532", to: "USER 0", wantErr: "non-root uid"},
		{name: "named user", from: "USER 65532:65532", to: "USER nonroot", wantErr: "non-root uid"},
		{name: "no user", from: "USER 65532:65532\n", to: "", wantErr: "non-root uid"},
		{name: "cgo", from: "CGO_ENABLED=0 ", to: "", wantErr: "CGO_ENABLED=0"},
		{name: "no trimpath", from: "-trimpath ", to: "", wantErr: "-trimpath"},
		{name: "other package", from: "./cmd/server", to: "./cmd/other", wantErr: "./cmd/server"},
		{name: "no version stamp", from: "-X main.version=v ", to: "", wantErr: "main.version"},
		{name: "shell in final", from: "USER 65532", to: "RUN chmod +x /regapi\nUSER 65532", wantErr: "only the binary"},
		{name: "shell-form entrypoint", from: `ENTRYPOINT ["/regapi"]`, to: "ENTRYPOINT /regapi", wantErr: "shell form"},
		{name: "single stage", from: good[:strings.Index(good, "FROM gcr")], to: "", wantErr: "multi-stage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := good
			if tt.from != "" {
				if !strings.Contains(src, tt.from) {
					t.Fatalf("test case: %q not in the good Dockerfile", tt.from)
				}
				src = strings.Replace(src, tt.from, tt.to, 1)
			}
			res, err := parser.Parse(strings.NewReader(src))
			if err != nil {
				t.Fatal(err)
			}
			stages, _, err := instructions.Parse(res.AST, nil)
			if err != nil {
				t.Fatal(err)
			}
			problems := strings.Join(checkDockerfile(stages, "1.26"), "\n")
			switch {
			case tt.wantErr == "" && problems != "":
				t.Errorf("checkDockerfile() = %q, want no problems", problems)
			case tt.wantErr != "" && !strings.Contains(problems, tt.wantErr):
				t.Errorf("checkDockerfile() = %q, want a problem containing %q", problems, tt.wantErr)
			}
		})
	}
}
