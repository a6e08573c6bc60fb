package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regapi/regapi/internal/config"
)

// TestCacheOptions: the cache's flags over the file's cache section over the
// defaults, and bad values refused with the flag's name.
func TestCacheOptions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "regapi.yaml")
	if err := os.WriteFile(file, []byte("cache: {max_bytes: 64MiB, stale_window: 1m}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		wantBytes config.ByteSize
		wantStale time.Duration
		wantOff   bool
		wantErr   string
	}{
		{name: "file wins over defaults", args: []string{"--config", file}, wantBytes: 64 << 20, wantStale: time.Minute},
		{name: "flags win over the file", args: []string{"--config", file, "--cache-max-bytes", "1GiB", "--cache-stale-window", "0s", "--cache-disabled"},
			wantBytes: 1 << 30, wantStale: 0, wantOff: true},
		{name: "bad size", args: []string{"--cache-max-bytes", "lots"}, wantErr: `invalid value "lots" for flag -cache-max-bytes: want a size`},
		{name: "negative stale window", args: []string{"--cache-stale-window", "-1s"}, wantErr: "--cache-stale-window: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(append([]string{"--demo"}, tt.args...), func(string) string { return "" }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseOptions() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseOptions() error = %v", err)
			}
			got := o.cache
			if got.MaxBytes != tt.wantBytes || time.Duration(got.StaleWindow) != tt.wantStale || got.Disabled != tt.wantOff {
				t.Errorf("cache = max %d stale %s off %v, want max %d stale %s off %v",
					got.MaxBytes, time.Duration(got.StaleWindow), got.Disabled, tt.wantBytes, tt.wantStale, tt.wantOff)
			}
		})
	}
}
