package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regapi/regapi/internal/registry/registrytest"
	"github.com/regapi/regapi/internal/transfer/transfertest"
)

// TestRunSweepsSpoolAtExit: an upload still pushing to a hung upstream when
// the shutdown grace runs out holds its spool file; run removes it before
// it returns, not at the next start.
func TestRunSweepsSpoolAtExit(t *testing.T) {
	pushing, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			return
		case r.Method == http.MethodHead:
			http.NotFound(w, r) // no blob is there yet
			return
		}
		// The first write (a blob upload) hangs until the test ends.
		once.Do(func() { close(pushing) })
		<-release
	}))
	defer hung.Close()
	defer close(release)

	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "regapi.yaml")
	yaml := `tokens: [{name: ci, secret_env: REGAPI_TOKEN_CI, scopes: [{registry: hung, repositories: ["**"], actions: [push]}]}]` + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "spool-exit-token-0123456789abcdef"
	const grace = 200 * time.Millisecond
	r := startRun(t, map[string]string{"REGAPI_TOKEN_CI": token}, "--listen", "127.0.0.1:0", "--config", cfg,
		"--upstream", "hung="+hung.URL, "--spool-dir", spool, "--shutdown-grace", grace.String())

	body := transfertest.OCILayout(t, registrytest.RandomImage(t, 1))
	go func() {
		req, err := http.NewRequest(http.MethodPut, r.base+"/api/v1/repos/hung/team/app/-/images/v1", bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	<-pushing
	if left, _ := filepath.Glob(filepath.Join(spool, "*")); len(left) != 1 {
		t.Fatalf("spool dir while pushing holds %v, want the upload's file", left)
	}
	_, err := r.stop(t, 30*time.Second)
	if err == nil || !strings.Contains(err.Error(), "shutdown") {
		t.Fatalf("run() = %v, want the grace to run out", err)
	}
	if left, _ := filepath.Glob(filepath.Join(spool, "*")); len(left) != 0 {
		t.Errorf("spool dir after run returned holds %v, want nothing", left)
	}
}

// TestRunDemosSpoolApart: two demos on one machine spool into directories
// of their own below $TMPDIR, removed at exit, so neither sweeps the
// other's uploads.
func TestRunDemosSpoolApart(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	a := startRun(t, nil, "--listen", "127.0.0.1:0", "--demo")
	b := startRun(t, nil, "--listen", "127.0.0.1:0", "--demo")
	dirs, err := filepath.Glob(filepath.Join(tmp, "regapi-demo-spool-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 2 {
		t.Fatalf("two demos spool in %v, want two directories of their own", dirs)
	}
	for _, r := range []*running{a, b} {
		if _, err := r.stop(t, 30*time.Second); err != nil {
			t.Errorf("run() = %v, want nil", err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "regapi-demo-spool-*")); len(left) != 0 {
		t.Errorf("spool directories left after exit: %v", left)
	}
}
