package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regapi/regapi/internal/config"
	"github.com/regapi/regapi/internal/transfer"
)

// TestWriteOptions: flags and variables over the file's uploads and sync
// sections over the defaults.
func TestWriteOptions(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "regapi.yaml")
	if err := os.WriteFile(cfg, []byte("uploads: {max_bytes: 1GiB, spool_dir: spool, concurrency: 3, min_rate: 1MiB, max_duration: 2h}\nsync: {concurrency: 8}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantUploads config.Uploads
		wantSync    config.Sync
	}{{
		name: "defaults",
		args: []string{"--demo"},
		wantUploads: config.Uploads{MaxBytes: 2 << 30, SpoolDir: os.TempDir(), Concurrency: 2, IdleTimeout: config.Duration(time.Minute),
			MinRate: 16 << 10, MaxDuration: config.Duration(time.Hour)},
		wantSync: config.Sync{Concurrency: 4},
	}, {
		name: "file",
		args: []string{"--demo", "--config", cfg},
		wantUploads: config.Uploads{MaxBytes: 1 << 30, SpoolDir: filepath.Join(dir, "spool"), Concurrency: 3, IdleTimeout: config.Duration(time.Minute),
			MinRate: 1 << 20, MaxDuration: config.Duration(2 * time.Hour)},
		wantSync: config.Sync{Concurrency: 8},
	}, {
		name: "flags and variables over the file",
		args: []string{"--demo", "--config", cfg, "--upload-max-bytes", "512MiB", "--sync-concurrency", "2", "--upload-min-rate", "4KiB"},
		env: map[string]string{"REGAPI_SPOOL_DIR": "/var/spool/regapi", "REGAPI_UPLOAD_CONCURRENCY": "1",
			"REGAPI_UPLOAD_IDLE_TIMEOUT": "30s", "REGAPI_SYNC_CONCURRENCY": "16", "REGAPI_UPLOAD_MAX_DURATION": "10m"},
		wantUploads: config.Uploads{MaxBytes: 512 << 20, SpoolDir: "/var/spool/regapi", Concurrency: 1, IdleTimeout: config.Duration(30 * time.Second),
			MinRate: 4 << 10, MaxDuration: config.Duration(10 * time.Minute)},
		wantSync: config.Sync{Concurrency: 2},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatalf("parseOptions: %v", err)
			}
			if o.uploads != tt.wantUploads || o.sync != tt.wantSync {
				t.Errorf("parseOptions() = %+v %+v, want %+v %+v", o.uploads, o.sync, tt.wantUploads, tt.wantSync)
			}
		})
	}
	for _, bad := range [][]string{
		{"--demo", "--upload-max-bytes", "lots"},
		{"--demo", "--upload-concurrency", "-1"},
		{"--demo", "--sync-concurrency", "33"},
	} {
		if _, err := parseOptions(bad, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("parseOptions(%q) = nil error, want one", bad)
		}
	}
}

// TestPrepareSpool: leftovers of transfer.Spool (the very file name it
// uses) are removed at startup, nothing else is.
func TestPrepareSpool(t *testing.T) {
	dir := t.TempDir()
	// A spool file as a crashed upload leaves it: Spool made it, nobody
	// closed it.
	s, err := transfer.Spool(context.Background(), bytes.NewReader([]byte("not even a tar")), dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil { // the sweep may have removed its file: that is no error
			t.Error(err)
		}
	})
	keep := filepath.Join(dir, "regapi-upload-notes.txt")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "regapi-upload-dir.tar"), 0o700); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := prepareSpool(dir, slog.New(slog.NewTextHandler(&log, nil))); err != nil {
		t.Fatalf("prepareSpool: %v", err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{"regapi-upload-dir.tar", "regapi-upload-notes.txt"}; !slices.Equal(left, want) {
		t.Errorf("spool after prepareSpool = %v, want %v (the leftover spool file removed)", left, want)
	}
	if !strings.Contains(log.String(), "files=1") {
		t.Errorf("log = %q, want the removal counted", log.String())
	}

	if err := prepareSpool(filepath.Join(dir, "missing"), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("prepareSpool(missing dir) = nil, want an error")
	}
	if err := prepareSpool(keep, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("prepareSpool(a file) = nil, want an error")
	}
}
