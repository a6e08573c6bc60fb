package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/regapi/regapi/internal/demo"
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
