package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineWriter hands each line written to it to lines.
type lineWriter struct{ lines chan string }

func (w lineWriter) Write(p []byte) (int, error) {
	for line := range strings.Lines(string(p)) {
		w.lines <- strings.TrimSpace(line)
	}
	return len(p), nil
}

// startRelay runs the relay in front of target until the test ends and
// returns its base URL.
func startRelay(t *testing.T, target string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := lineWriter{lines: make(chan string, 4)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--target", target}, w) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run after cancel = %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not return after cancel")
		}
	})
	select {
	case line := <-w.lines:
		addr, ok := strings.CutPrefix(line, "relay listening on ")
		if !ok || !strings.HasPrefix(addr, "http://127.0.0.1:") {
			t.Fatalf("first line %q, want relay listening on http://127.0.0.1:PORT", line)
		}
		return addr
	case err := <-done:
		t.Fatalf("run = %v before announcing its address", err)
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not announce its address")
	}
	return ""
}

// TestRelayPassesThroughOnOneConnection sends sequential requests through
// the relay and checks that each reaches the upstream as sent (path, query,
// Accept header, upstream's Host), that the answer comes back unchanged
// (status, headers, body) and that the relay keeps one upstream connection
// alive for all of them instead of dialling per request.
func TestRelayPassesThroughOnOneConnection(t *testing.T) {
	var (
		mu    sync.Mutex
		dials int
		seen  []string
	)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" host="+r.Host+" accept="+r.Header.Get("Accept")+" xff="+r.Header.Get("X-Forwarded-For"))
		mu.Unlock()
		if !strings.HasPrefix(r.URL.Path, "/v2/corpus/tags/manifests/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("a", 64))
		_, _ = io.WriteString(w, `{"tag":"`+r.URL.Path[len("/v2/corpus/tags/manifests/"):]+`"}`) //nolint:gosec // G705: a test upstream echoing its own client's path
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			dials++
			mu.Unlock()
		}
	}
	up.Start()
	defer up.Close()
	relay := startRelay(t, up.URL)

	const accept = "application/vnd.oci.image.manifest.v1+json"
	c := &http.Client{Timeout: 10 * time.Second}
	for _, tag := range []string{"t001", "t002", "t003", "t004", "t005"} {
		req, err := http.NewRequest(http.MethodGet, relay+"/v2/corpus/tags/manifests/"+tag+"?x=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", accept)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK || string(body) != `{"tag":"`+tag+`"}` {
			t.Errorf("GET %s: %s %q, want 200 {\"tag\":%q}", tag, res.Status, body, tag)
		}
		if got := res.Header.Get("Docker-Content-Digest"); got != "sha256:"+strings.Repeat("a", 64) {
			t.Errorf("GET %s: Docker-Content-Digest %q, want the upstream's", tag, got)
		}
		if got := res.Header.Get("Content-Type"); got != accept {
			t.Errorf("GET %s: Content-Type %q, want %q", tag, got, accept)
		}
	}
	res, err := c.Get(relay + "/v2/corpus/tags/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET a missing path: %s, want the upstream's 404", res.Status)
	}

	mu.Lock()
	defer mu.Unlock()
	host := strings.TrimPrefix(up.URL, "http://")
	want := "GET /v2/corpus/tags/manifests/t001?x=1 host=" + host + " accept=" + accept + " xff=127.0.0.1"
	if len(seen) != 6 || seen[0] != want {
		t.Errorf("upstream saw %q; want 6 requests, the first %q", seen, want)
	}
	if dials != 1 {
		t.Errorf("upstream accepted %d connections for 6 sequential requests, want 1 (kept alive)", dials)
	}
}

func TestRelayRefusesNonLoopback(t *testing.T) {
	for _, args := range [][]string{
		{"--target", "http://10.0.0.1:5000"},
		{"--target", "https://127.0.0.1:5000"},
		{"--target", "http://localhost:5000"},
		{},
		{"--target", "http://127.0.0.1:5000", "--listen", "0.0.0.0:0"},
		{"--target", "http://127.0.0.1:5000", "--listen", ":0"},
	} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}
