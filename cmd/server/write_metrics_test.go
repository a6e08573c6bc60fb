package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regapi/regapi/internal/registry/registrytest"
	"github.com/regapi/regapi/internal/transfer/transfertest"
)

// scrapeWrites returns the write metrics' series on /metrics by their full
// name with labels.
func scrapeWrites(t *testing.T, c *http.Client, base string) map[string]float64 {
	t.Helper()
	status, body, _ := get(t, c, http.MethodGet, base+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics = %d", status)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "regapi_sync_tags_total") && !strings.HasPrefix(line, "regapi_upload") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// writeSeries is every write metric series with its value: the three sync
// outcomes, upload bytes, the four upload outcomes.
func writeSeries(copied, skipped, syncFailed, bytes, pushed, rejected, aborted, failed float64) map[string]float64 {
	return map[string]float64{
		`regapi_sync_tags_total{outcome="copied"}`:  copied,
		`regapi_sync_tags_total{outcome="skipped"}`: skipped,
		`regapi_sync_tags_total{outcome="failed"}`:  syncFailed,
		`regapi_upload_bytes_total`:                 bytes,
		`regapi_uploads_total{outcome="pushed"}`:    pushed,
		`regapi_uploads_total{outcome="rejected"}`:  rejected,
		`regapi_uploads_total{outcome="aborted"}`:   aborted,
		`regapi_uploads_total{outcome="failed"}`:    failed,
	}
}

// TestRunWriteMetrics checks run's wiring of the write metrics: they are on
// /metrics from the start, every outcome at 0, and count an upload pushed,
// one rejected, their bytes and a sync's tags, one per NDJSON line.
func TestRunWriteMetrics(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "regapi.yaml")
	yaml := `tokens: [{name: ci, secret_env: REGAPI_TOKEN_CI, scopes: [{registry: demo, repositories: ["**"], actions: [push]}]}]` + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "metrics-token-0123456789abcdef"
	r := startRun(t, map[string]string{"REGAPI_TOKEN_CI": token}, "--listen", "127.0.0.1:0", "--demo", "--config", cfg)
	c := &http.Client{Timeout: 30 * time.Second}
	if got, want := scrapeWrites(t, c, r.base), writeSeries(0, 0, 0, 0, 0, 0, 0, 0); !maps.Equal(got, want) {
		t.Fatalf("write metrics at start = %v, want %v", got, want)
	}

	send := func(method, path string, body []byte) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, r.base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		if _, err := b.ReadFrom(res.Body); err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, b.Bytes()
	}
	good := transfertest.OCILayout(t, registrytest.RandomImage(t, 1))
	if status, body := send(http.MethodPut, "/api/v1/repos/demo/team/app/-/images/v1", good); status != http.StatusCreated {
		t.Fatalf("PUT a valid tarball = %d %s, want 201", status, body)
	}
	bad := []byte(strings.Repeat("not an archive ", 100))
	if status, body := send(http.MethodPut, "/api/v1/repos/demo/team/app/-/images/v2", bad); status != http.StatusBadRequest {
		t.Fatalf("PUT a non-tarball = %d %s, want 400", status, body)
	}

	status, body := send(http.MethodPost, "/api/v1/sync", []byte(`{"source":"demo/deckhouse/modules/console","destination":"demo/mirror/console","tags":"v1\\.4\\..*"}`))
	if status != http.StatusOK {
		t.Fatalf("POST /api/v1/sync = %d %s, want 200", status, body)
	}
	lines := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var e struct{ Status string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("sync line %q: %v", sc.Bytes(), err)
		}
		if e.Status != "" {
			lines[e.Status]++
		}
	}
	if lines["copied"] == 0 {
		t.Fatalf("sync copied nothing: %s", body)
	}

	want := writeSeries(lines["copied"], lines["skipped"], lines["failed"], float64(len(good)+len(bad)), 1, 1, 0, 0)
	if got := scrapeWrites(t, c, r.base); !maps.Equal(got, want) {
		t.Errorf("write metrics = %v, want %v", got, want)
	}
}
