package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/regapi/regapi/internal/demo"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// testDemo is one seeded demo registry shared by the tests that only read
// from it; TestMain stops it.
var testDemo struct {
	once sync.Once
	d    *demo.Registry
	err  error
}

// sharedDemo returns the shared demo registry, starting it on first use.
func sharedDemo(t *testing.T) *demo.Registry {
	t.Helper()
	testDemo.once.Do(func() { testDemo.d, testDemo.err = demo.Start(context.Background()) })
	if testDemo.err != nil {
		t.Fatalf("demo.Start() error = %v", testDemo.err)
	}
	return testDemo.d
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testDemo.d != nil {
		if err := testDemo.d.Close(); err != nil && code == 0 {
			fmt.Fprintln(os.Stderr, "close the demo registry:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// tarFiles reads a whole tar stream and returns its regular files.
func tarFiles(b []byte) (map[string]string, error) {
	files := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			c, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			files[h.Name] = string(c)
		}
	}
}

// TestDemoAnonymousIsTheDemos: --demo without tokens lets anonymous callers
// pull from the demo, not from a real registry configured next to it.
func TestDemoAnonymousIsTheDemos(t *testing.T) {
	dist := registrytest.StartDistribution(t, nil)
	registrytest.PushRandomImage(t, dist.Host, "team/app", "v1")
	r := startRun(t, nil, "--listen", "127.0.0.1:0", "--demo", "--upstream", "real=http://"+dist.Host)
	c := &http.Client{Timeout: 30 * time.Second}
	if status, body, _ := get(t, c, http.MethodGet, r.base+"/api/v1/repos/demo/library/alpine/-/tags"); status != http.StatusOK {
		t.Errorf("anonymous demo tags = %d %s, want 200", status, body)
	}
	if status, body, _ := get(t, c, http.MethodGet, r.base+"/api/v1/repos/real/team/app/-/tags"); status != http.StatusUnauthorized {
		t.Errorf("anonymous tags of the real registry next to the demo = %d %s, want 401", status, body)
	}
}
