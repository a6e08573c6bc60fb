package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regapi/regapi/internal/config"
	"github.com/regapi/regapi/internal/handlers"
	"github.com/regapi/regapi/internal/telemetry"
)

func TestReadOptions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "regapi.yaml")
	if err := os.WriteFile(file, []byte("reads: {concurrency: 9, stream_idle_timeout: 5s, max_file_size: 1MiB, max_image_rows: 300, layer_cache_dir: /var/cache/regapi, layer_cache_max_bytes: 2GiB}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want config.Reads
	}{
		{"defaults", nil, nil, config.Reads{Concurrency: 4, StreamIdleTimeout: config.Duration(time.Minute), MaxFileSize: 256 << 20, MaxImageRows: 5000, LayerCacheMaxBytes: 8 << 30}},
		{"flags", []string{"--extract-concurrency", "2", "--stream-idle-timeout", "90s", "--max-file-size", "64MiB", "--max-image-rows", "10", "--layer-cache-dir", "/tmp/lc", "--layer-cache-max-bytes", "1GiB"}, nil,
			config.Reads{Concurrency: 2, StreamIdleTimeout: config.Duration(90 * time.Second), MaxFileSize: 64 << 20, MaxImageRows: 10, LayerCacheDir: "/tmp/lc", LayerCacheMaxBytes: 1 << 30}},
		{"variables", nil, map[string]string{"REGAPI_EXTRACT_CONCURRENCY": "8", "REGAPI_STREAM_IDLE_TIMEOUT": "10s", "REGAPI_MAX_FILE_SIZE": "1024", "REGAPI_MAX_IMAGE_ROWS": "20",
			"REGAPI_LAYER_CACHE_DIR": "/srv/lc", "REGAPI_LAYER_CACHE_MAX_BYTES": "3GiB"},
			config.Reads{Concurrency: 8, StreamIdleTimeout: config.Duration(10 * time.Second), MaxFileSize: 1024, MaxImageRows: 20, LayerCacheDir: "/srv/lc", LayerCacheMaxBytes: 3 << 30}},
		{"file", []string{"--config", file}, nil,
			config.Reads{Concurrency: 9, StreamIdleTimeout: config.Duration(5 * time.Second), MaxFileSize: 1 << 20, MaxImageRows: 300, LayerCacheDir: "/var/cache/regapi", LayerCacheMaxBytes: 2 << 30}},
		{"flag over file", []string{"--config", file, "--extract-concurrency", "1", "--max-image-rows", "7", "--layer-cache-dir", ""}, nil,
			config.Reads{Concurrency: 1, StreamIdleTimeout: config.Duration(5 * time.Second), MaxFileSize: 1 << 20, MaxImageRows: 7, LayerCacheMaxBytes: 2 << 30}},
		{"read bounds by flag", []string{"--extract-caller-concurrency", "3", "--stream-min-rate", "1KiB", "--read-max-duration", "30m"}, nil,
			config.Reads{Concurrency: 4, CallerConcurrency: 3, StreamIdleTimeout: config.Duration(time.Minute), StreamMinRate: 1 << 10, MaxDuration: config.Duration(30 * time.Minute),
				MaxFileSize: 256 << 20, MaxImageRows: 5000, LayerCacheMaxBytes: 8 << 30}},
		{"read bounds by variable", nil, map[string]string{"REGAPI_EXTRACT_CALLER_CONCURRENCY": "1", "REGAPI_STREAM_MIN_RATE": "64KiB", "REGAPI_READ_MAX_DURATION": "2h"},
			config.Reads{Concurrency: 4, CallerConcurrency: 1, StreamIdleTimeout: config.Duration(time.Minute), StreamMinRate: 64 << 10, MaxDuration: config.Duration(2 * time.Hour),
				MaxFileSize: 256 << 20, MaxImageRows: 5000, LayerCacheMaxBytes: 8 << 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOptions(append(tt.args, "--demo"), func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatalf("parseOptions(%v) error = %v", tt.args, err)
			}
			if tt.want.FileIndexMaxBytes == 0 {
				tt.want.FileIndexMaxBytes = 128 << 20 // its own test below
			}
			if tt.want.StreamMinRate == 0 {
				tt.want.StreamMinRate = 16 << 10 // set in the read bounds rows
			}
			if tt.want.MaxDuration == 0 {
				tt.want.MaxDuration = config.Duration(4 * time.Hour)
			}
			if got.reads != tt.want {
				t.Errorf("parseOptions(%v).reads = %+v, want %+v", tt.args, got.reads, tt.want)
			}
		})
	}
	for _, args := range [][]string{
		{"--extract-concurrency", "-1"},
		{"--stream-idle-timeout", "-1s"},
		{"--max-file-size", "lots"},
		{"--max-file-size", "-1"},
		{"--max-image-rows", "-1"},
		{"--layer-cache-max-bytes", "-1"},
		{"--extract-caller-concurrency", "-1"},
		{"--stream-min-rate", "0"},
		{"--read-max-duration", "0s"},
	} {
		if _, err := parseOptions(append(args, "--demo"), func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("parseOptions(%v) = nil error, want one", args)
		}
	}
}

// TestRunReads serves files and extract from the demo with the flags set
// and checks the wiring: the file cap answers 413, and streamed bytes are
// counted in regapi_stream_bytes_total with no stream left active, and
// every bounded store's evictions are exported.
func TestRunReads(t *testing.T) {
	r := startRun(t, nil, "--listen", "127.0.0.1:0", "--demo", "--max-file-size", "64", "--extract-concurrency", "2", "--stream-idle-timeout", "5s")
	c := &http.Client{Timeout: 30 * time.Second}
	base := r.base + "/api/v1/repos/demo/"
	status, body, _ := get(t, c, http.MethodGet, base+"deckhouse/modules/console/-/files/v1.2.3/version.json")
	if want := `{"module":"console","version":"v1.2.3"}` + "\n"; status != http.StatusOK || string(body) != want {
		t.Errorf("files version.json = %d %q, want 200 %q", status, body, want)
	}
	if status, body, _ := get(t, c, http.MethodGet, base+"library/alpine/-/files/3.20/etc/os-release"); status != http.StatusRequestEntityTooLarge {
		t.Errorf("files os-release over a 64-byte cap = %d %s, want 413", status, body)
	}
	status, tarBody, _ := get(t, c, http.MethodGet, base+"library/alpine/-/extract/3.20?path=/etc")
	if status != http.StatusOK {
		t.Fatalf("extract?path=/etc = %d", status)
	}
	_, metrics, _ := get(t, c, http.MethodGet, r.base+"/metrics")
	var sent float64
	var active = -1.0
	for _, line := range strings.Split(string(metrics), "\n") {
		if v, ok := strings.CutPrefix(line, "regapi_stream_bytes_total "); ok {
			sent, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, "regapi_streams_active "); ok {
			active, _ = strconv.ParseFloat(v, 64)
		}
	}
	if want := float64(len(body) + len(tarBody)); sent < want || active != 0 {
		t.Errorf("regapi_stream_bytes_total = %v, regapi_streams_active = %v; want at least %v and 0", sent, active, want)
	}
	for _, store := range []string{"answer_memo", "image_summaries", "scoped_clients", "extract_chunks"} {
		if series := `regapi_store_evictions_total{store="` + store + `"} `; !strings.Contains(string(metrics), series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	for _, series := range []string{`regapi_read_cuts_total{reason="slow"} 0`, `regapi_reads_refused_total{reason="caller"} 0`} {
		if !strings.Contains(string(metrics), series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}

// TestHandlerReads: the read bounds reach the handlers as set; a zero
// caller share is left for the handlers to derive from the concurrency.
func TestHandlerReads(t *testing.T) {
	m, err := telemetry.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	for _, share := range []int{0, 3} {
		got := handlerReads(config.Reads{Concurrency: 6, CallerConcurrency: share, StreamIdleTimeout: config.Duration(time.Minute),
			StreamMinRate: 1 << 10, MaxDuration: config.Duration(30 * time.Minute)}, nil, m)
		if got.Concurrency != 6 || got.CallerConcurrency != share || got.IdleTimeout != time.Minute ||
			got.MinRate != 1<<10 || got.MaxDuration != 30*time.Minute || got.Metrics != handlers.ReadMetrics(m.Reads) {
			t.Errorf("handlerReads(share %d) = %+v", share, got)
		}
	}
}
