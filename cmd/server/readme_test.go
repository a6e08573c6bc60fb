package main

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readmeLine is a curl line of README.md's shell blocks.
type readmeLine struct {
	text   string
	method string
	url    string
	pipe   string
	assign string // the variable of NAME=$(curl … | sed …)
	status int    // from a trailing "# 404 CODE" comment; 200 otherwise
	code   string
}

var (
	readmeCurl    = regexp.MustCompile(`^(?:([A-Z_]+)=\$\()?curl (-[a-zA-Z]+) (?:'([^']+)'|"([^"]+)")(?: \| (.+?))?\)?(?:\s+# (\d{3}) ([A-Z_]+))?$`)
	readmeVar     = regexp.MustCompile(`\$([A-Z_]+)`)
	readmeOrigin  = "http://localhost:8080"
	readmeTestCmd = "scripts/test"
)

// readmeDocs are the documents whose shell lines are checked: the front
// page and the pages of docs/ it links.
var readmeDocs = []string{"../../README.md", "../../docs/api.md", "../../docs/configuration.md", "../../docs/security.md", "../../docs/operations.md"}

// readmeShell returns the lines of the ```sh blocks of README.md and the
// docs/ pages.
func readmeShell(t *testing.T) []string {
	t.Helper()
	var lines []string
	for _, doc := range readmeDocs {
		b, err := os.ReadFile(doc) //nolint:gosec // G304: the project's own documents, a fixed list
		if err != nil {
			t.Fatal(err)
		}
		in := false
		for _, l := range strings.Split(string(b), "\n") {
			switch {
			case strings.HasPrefix(l, "```sh"):
				in = true
			case strings.HasPrefix(l, "```"):
				in = false
			case in && strings.TrimSpace(l) != "":
				lines = append(lines, strings.TrimSpace(l))
			}
		}
	}
	return lines
}

func parseReadmeCurl(t *testing.T, line string) readmeLine {
	t.Helper()
	m := readmeCurl.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("README line %q: not a curl line this test understands", line)
	}
	l := readmeLine{text: line, assign: m[1], method: http.MethodGet, url: m[3] + m[4], pipe: m[5], status: http.StatusOK, code: m[7]}
	if strings.Contains(m[2], "I") {
		l.method = http.MethodHead
	}
	if m[6] != "" {
		l.status, _ = strconv.Atoi(m[6])
	}
	if !strings.HasPrefix(l.url, readmeOrigin+"/") {
		t.Fatalf("README line %q: URL does not start with %s", line, readmeOrigin)
	}
	return l
}

// TestREADME keeps README.md true: every curl line works against the demo
// as written (with the demo's real address), and .ci/run runs the README's
// test command, scripts/test, which runs every test under -race.
func TestREADME(t *testing.T) {
	lines := readmeShell(t)
	var curls []readmeLine
	var haveDemo, haveTest bool
	for _, l := range lines {
		switch {
		case l == "go run ./cmd/server --demo":
			haveDemo = true
		case l == readmeTestCmd:
			haveTest = true
		case strings.Contains(l, "curl "):
			curls = append(curls, parseReadmeCurl(t, l))
		}
	}
	if !haveDemo || !haveTest {
		t.Errorf("README shell blocks lack the demo (%v) or test (%v) command", haveDemo, haveTest)
	}
	if len(curls) < 10 {
		t.Fatalf("README has %d curl lines, want one per endpoint at least", len(curls))
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(readmeTestCmd) + `$`).Match(ci) {
		t.Errorf(".ci/run lacks a line %q", readmeTestCmd)
	}
	// The test command installs what the tests need, then runs them all
	// under the race detector.
	script, err := os.ReadFile("../../" + readmeTestCmd)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat("../../" + readmeTestCmd); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("%s is not executable", readmeTestCmd)
	}
	if !regexp.MustCompile(`(?m)^exec go test -race \./\.\.\. "\$@"$`).Match(script) {
		t.Errorf("%s does not end in exec go test -race ./... \"$@\"", readmeTestCmd)
	}

	r := startRun(t, nil, "--listen", "127.0.0.1:0", "--demo")
	c := &http.Client{Timeout: 30 * time.Second}
	vars := map[string]string{}
	for _, l := range curls {
		url := readmeVar.ReplaceAllStringFunc(l.url, func(v string) string { return vars[v[1:]] })
		url = r.base + strings.TrimPrefix(url, readmeOrigin)
		status, body, header := get(t, c, l.method, url)
		if status != l.status {
			t.Errorf("README %s\n  = %d, want %d; body: %.300s", l.text, status, l.status, body)
			continue
		}
		if l.code != "" {
			var p struct {
				Code string `json:"code"`
			}
			if err := json.Unmarshal(body, &p); err != nil || p.Code != l.code || !strings.HasPrefix(header.Get("Content-Type"), "application/problem+json") {
				t.Errorf("README %s\n  = %s %s, want an application/problem+json with code %s", l.text, header.Get("Content-Type"), body, l.code)
			}
			continue
		}
		if l.assign != "" {
			var d struct {
				Digest string `json:"digest"`
			}
			if err := json.Unmarshal(body, &d); err != nil || !strings.HasPrefix(d.Digest, "sha256:") {
				t.Errorf("README %s\n  = %s, want a digest", l.text, body)
			}
			vars[l.assign] = d.Digest
			continue
		}
		if err := checkPipe(l.pipe, body); err != nil {
			t.Errorf("README %s\n  %v", l.text, err)
		}
	}
}
