package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/regapi/regapi/internal/registry/registrytest"
	"github.com/regapi/regapi/internal/transfer/transfertest"
)

// readmeWriteSection returns the ```bash lines of README.md's "Writing
// images" section. They need a token, so TestREADME (which runs the ```sh
// blocks against the anonymous demo) leaves them to this test.
func readmeWriteSection(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Writing images\n")
	if !ok {
		t.Fatal("docs/api.md has no \"## Writing images\" section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var lines []string
	in := false
	for _, l := range strings.Split(sec, "\n") {
		switch {
		case strings.HasPrefix(l, "```bash"):
			in = true
		case strings.HasPrefix(l, "```"):
			in = false
		case in && strings.TrimSpace(l) != "":
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return lines
}

var (
	readmeQuoted  = regexp.MustCompile(`'([^']*)'`)
	readmeJSONArg = regexp.MustCompile(`-d '([^']*)'`)
)

// TestREADMEWrites runs the README's write examples against the demo, set
// up the way the README says: its config line, its token variable. The
// tarballs `docker save` and an OCI tool would make are built in-process.
func TestREADMEWrites(t *testing.T) {
	lines := readmeWriteSection(t)
	// The lines as a person pastes them: the token goes to a file the
	// configuration names, the server runs in one terminal and the token
	// is read back from the file in another.
	var configYAML string
	var writesToken, readsToken bool
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "printf ") && strings.HasSuffix(l, "> demo.yaml"):
			q := readmeQuoted.FindAllStringSubmatch(l, -1)
			configYAML = q[len(q)-1][1]
		case l == "openssl rand -hex 32 > demo.token":
			writesToken = true
		case l == "TOKEN=$(cat demo.token)":
			readsToken = true
		}
	}
	if configYAML == "" || !writesToken || !readsToken {
		t.Fatal("README's write section does not write demo.token and demo.yaml and read the token back")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "demo.yaml")
	if err := os.WriteFile(cfg, []byte(configYAML+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" // what openssl rand -hex 32 prints
	if err := os.WriteFile(filepath.Join(dir, "demo.token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startRun(t, nil, "--listen", "127.0.0.1:0", "--demo", "--allow-anonymous", "--config", cfg)
	c := &http.Client{Timeout: 30 * time.Second}

	img := registrytest.RandomImage(t, 2)
	ran := map[string]int{}
	for _, l := range lines {
		if !strings.Contains(l, "curl ") {
			continue
		}
		q := readmeQuoted.FindAllStringSubmatch(l, -1)
		url := q[len(q)-1][1]
		if !strings.HasPrefix(url, readmeOrigin+"/") || !strings.Contains(l, `-H "Authorization: Bearer $TOKEN"`) {
			t.Errorf("README %s\n  want a quoted %s URL last and the bearer token", l, readmeOrigin)
			continue
		}
		url = r.base + strings.TrimPrefix(url, readmeOrigin)
		var req *http.Request
		var err error
		switch {
		case strings.Contains(l, "docker save") && strings.Contains(l, "| gzip |") && strings.Contains(l, "-T -"):
			req, err = http.NewRequest(http.MethodPut, url, bytes.NewReader(transfertest.Gzip(t, transfertest.DockerArchive(t, img))))
		case strings.Contains(l, "-T app.tar"):
			req, err = http.NewRequest(http.MethodPut, url, bytes.NewReader(transfertest.OCILayout(t, img)))
		case readmeJSONArg.MatchString(l):
			// curl -d sends a form Content-Type; regapi reads JSON anyway.
			req, err = http.NewRequest(http.MethodPost, url, strings.NewReader(readmeJSONArg.FindStringSubmatch(l)[1]))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		default:
			t.Errorf("README %s\n  not a write example this test understands", l)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("README %s\n  %v", l, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		kind := req.Method + " " + req.URL.Path
		ran[kind]++
		checkReadmeWrite(t, l, req, res, body)
	}
	for _, want := range []string{"PUT /api/v1/repos/demo/team/app/-/images/1", "POST /api/v1/copy", "POST /api/v1/sync"} {
		if ran[want] == 0 {
			t.Errorf("README's write section has no %s example", want)
		}
	}
}

// checkReadmeWrite checks one write example's answer.
func checkReadmeWrite(t *testing.T, line string, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	var digest struct {
		Digest string `json:"digest"`
	}
	switch {
	case req.Method == http.MethodPut:
		if res.StatusCode != http.StatusCreated || json.Unmarshal(body, &digest) != nil || !strings.HasPrefix(digest.Digest, "sha256:") {
			t.Errorf("README %s\n  = %d %s, want 201 with a digest", line, res.StatusCode, body)
		}
	case strings.HasSuffix(req.URL.Path, "/copy"):
		if res.StatusCode != http.StatusOK || json.Unmarshal(body, &digest) != nil || !strings.HasPrefix(digest.Digest, "sha256:") {
			t.Errorf("README %s\n  = %d %s, want 200 with a digest", line, res.StatusCode, body)
		}
	default:
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("README %s\n  = %d %s %s, want 200 NDJSON", line, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		var last struct {
			Summary *struct{ Copied, Skipped, Failed int } `json:"summary"`
		}
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			n++
			last.Summary = nil
			if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
				t.Fatalf("README %s\n  line %q: %v", line, sc.Bytes(), err)
			}
		}
		if last.Summary == nil || last.Summary.Failed != 0 || last.Summary.Copied == 0 || n != last.Summary.Copied+1 {
			t.Errorf("README %s\n  = %s, want a line per copied tag and a summary without failures", line, body)
		}
	}
}
