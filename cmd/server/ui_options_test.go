package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestParseOptionsUI: the UI is on unless the flag, the variable or the
// file's ui key turns it off, in that order of precedence.
func TestParseOptionsUI(t *testing.T) {
	dir := t.TempDir()
	off := filepath.Join(dir, "off.yaml")
	on := filepath.Join(dir, "on.yaml")
	if err := os.WriteFile(off, []byte("ui: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(on, []byte("ui: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want bool
	}{
		{"default: on", nil, "", true},
		{"flag off", []string{"--ui=false"}, "", false},
		{"variable off", nil, "false", false},
		{"file off", []string{"--config", off}, "", false},
		{"file on", []string{"--config", on}, "", true},
		{"variable over file", []string{"--config", off}, "true", true},
		{"flag over variable", []string{"--ui"}, "false", true},
		{"flag over file", []string{"--config", on, "--ui=false"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"REGAPI_UI": tc.env}
			o, err := parseOptions(append([]string{"--demo"}, tc.args...), func(k string) string { return env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if o.ui != tc.want {
				t.Errorf("parseOptions(%q, REGAPI_UI=%q).ui = %v, want %v", tc.args, tc.env, o.ui, tc.want)
			}
		})
	}
}

// TestUIOff checks that --ui=false serves no UI (and the API still).
func TestUIOff(t *testing.T) {
	r := startRun(t, map[string]string{"REGAPI_UI": "false"}, "--listen", "127.0.0.1:0", "--demo", "--log-level", "warn")
	c := &http.Client{Timeout: 30 * time.Second}
	if status, _, _ := get(t, c, http.MethodGet, r.base+"/ui/"); status != http.StatusNotFound {
		t.Errorf("GET /ui/ with REGAPI_UI=false = %d, want 404", status)
	}
	if status, _, _ := get(t, c, http.MethodGet, r.base+"/api/v1/registries"); status != http.StatusOK {
		t.Errorf("GET /api/v1/registries = %d, want 200", status)
	}
	on := startRun(t, nil, "--listen", "127.0.0.1:0", "--demo", "--log-level", "warn")
	if status, body, _ := get(t, c, http.MethodGet, on.base+"/ui/"); status != http.StatusOK || !bytes.Contains(body, []byte(`/ui/assets/js/app.js`)) {
		t.Errorf("GET /ui/ by default = %d, want 200 and the UI's page", status)
	}
}
