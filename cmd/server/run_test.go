package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regapi/regapi/internal/demo"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is a run() started by startRun.
type running struct {
	base   string
	cancel context.CancelFunc
	done   chan error
	stdout *syncBuffer // what followed the "listening" line
	stderr *syncBuffer
}

// startRun calls run in a goroutine and returns once it printed its
// address. The test's cleanup stops it if the test did not.
func startRun(t testing.TB, env map[string]string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	r := &running{cancel: cancel, done: make(chan error, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	go func() {
		err := run(ctx, args, func(k string) string { return env[k] }, pw, r.stderr)
		_ = pw.Close() // a PipeWriter's Close is always nil
		r.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			// The test checks run's error through stop when it matters.
			t.Logf("run() at cleanup = %v", err)
		case <-time.After(30 * time.Second):
			t.Error("run() still running 30s after cancel")
		}
	})

	line, err := bufio.NewReader(pr).ReadString('\n')
	const prefix = "regapi listening on "
	if !strings.HasPrefix(line, prefix) {
		_ = pr.Close() // a PipeReader's Close is always nil
		t.Fatalf("run() first line = %q (%v), want %q…; stderr:\n%s", line, err, prefix, r.stderr)
	}
	r.base = strings.TrimSpace(strings.TrimPrefix(line, prefix))
	// Keep draining, so that run never blocks on stdout.
	go func() { _, _ = io.Copy(r.stdout, pr) }() // ends when run closes pw
	return r
}

// stop cancels run and returns how long it took to return and its error.
func (r *running) stop(t *testing.T, within time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return time.Since(start), err
	case <-time.After(within):
		t.Fatalf("run() did not return within %s of cancel", within)
		return 0, nil
	}
}

// get requests url and returns the status and body.
func get(t *testing.T, c *http.Client, method, url string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, b, resp.Header
}

func TestRunDemoServesEveryPrintedExample(t *testing.T) {
	r := startRun(t, nil, "--listen", "127.0.0.1:0", "--demo", "--log-format", "text")
	c := &http.Client{Timeout: 30 * time.Second}

	for _, e := range demo.Examples {
		method := http.MethodGet
		if e.Head {
			method = http.MethodHead
		}
		status, body, _ := get(t, c, method, e.URL(r.base, demoUpstream))
		if status != http.StatusOK {
			t.Errorf("%s = %d, want 200; body: %.300s", e.Curl(r.base, demoUpstream), status, body)
			continue
		}
		if err := checkPipe(e.Pipe, body); err != nil {
			t.Errorf("%s: %v", e.Curl(r.base, demoUpstream), err)
		}
	}
	// Whiteouts are applied, not shipped.
	status, body, _ := get(t, c, http.MethodGet, r.base+"/api/v1/repos/demo/"+demo.WhiteoutRepo+"/-/extract/bookworm")
	files, err := tarFiles(body)
	if status != http.StatusOK || err != nil {
		t.Fatalf("GET extract %s = %d, %v; want 200 and a tar", demo.WhiteoutRepo, status, err)
	}
	for name := range files {
		if strings.Contains(name, ".wh.") || name == "tmp/build.log" || name == "opt/app/stale.txt" {
			t.Errorf("extract %s has %s, want it whited out", demo.WhiteoutRepo, name)
		}
	}
	if files["opt/app/config.yaml"] != "version: 2\n" {
		t.Errorf("extract %s opt/app/config.yaml = %q, want %q", demo.WhiteoutRepo, files["opt/app/config.yaml"], "version: 2\n")
	}

	// The curl lines printed are the ones just checked, with the real address.
	out := r.stdout.String()
	for _, e := range demo.Examples {
		if !strings.Contains(out, e.Curl(r.base, demoUpstream)) {
			t.Errorf("stdout lacks %q; stdout:\n%s", e.Curl(r.base, demoUpstream), out)
		}
	}

	if took, err := r.stop(t, 30*time.Second); err != nil {
		t.Errorf("run() = %v after %s, want nil", err, took)
	}
}

func TestRunShutdownIsGraceful(t *testing.T) {
	// A registry whose tag listing hangs until released: an in-flight
	// request across the shutdown.
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/tags/list") {
			once.Do(func() { close(entered) })
			<-release
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"name":"app","tags":["v1"]}`)
			return
		}
		w.WriteHeader(http.StatusOK) // /v2/: no auth needed
	}))
	defer slow.Close()

	const delay, grace = 2 * time.Second, 10 * time.Second
	r := startRun(t, map[string]string{"REGAPI_UPSTREAM": "slow=" + slow.URL},
		"--listen", "127.0.0.1:0", "--allow-anonymous", "--shutdown-delay", delay.String(), "--shutdown-grace", grace.String())
	// One connection per request: after the listener closes, requests fail
	// instead of riding a kept-alive connection.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}

	if status, body, _ := get(t, c, http.MethodGet, r.base+"/readyz"); status != http.StatusOK {
		t.Fatalf("GET /readyz before shutdown = %d %s, want 200", status, body)
	}
	inflight := make(chan int, 1)
	go func() {
		resp, err := c.Get(r.base + "/api/v1/repos/slow/app/-/tags")
		if err != nil {
			inflight <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body) // the status is what the test checks
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	<-entered

	start := time.Now()
	r.cancel()
	// Readiness fails while the server still answers ...
	for status := 0; status != http.StatusServiceUnavailable; {
		resp, err := c.Get(r.base + "/readyz")
		if err != nil {
			t.Fatalf("GET /readyz after cancel: %v; want 503 before the listener closes", err)
		}
		resp.Body.Close()
		status = resp.StatusCode
	}
	// ... then the listener closes while the request is still in flight ...
	for {
		resp, err := c.Get(r.base + "/healthz")
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Since(start) > delay+grace {
			t.Fatal("the listener still accepts after delay+grace")
		}
	}
	if since := time.Since(start); since < delay {
		t.Errorf("listener closed %s after cancel, want no sooner than the %s delay", since, delay)
	}
	// ... which finishes once the upstream answers.
	close(release)
	if got := <-inflight; got != http.StatusOK {
		t.Errorf("in-flight GET tags = %d, want 200", got)
	}
	select {
	case err := <-r.done:
		r.done <- err
		if err != nil {
			t.Errorf("run() = %v, want nil", err)
		}
	case <-time.After(grace):
		t.Fatalf("run() did not return within the %s grace", grace)
	}
	if !strings.Contains(r.stderr.String(), "shutting down") {
		t.Errorf("stderr lacks the shutdown log; stderr:\n%s", r.stderr)
	}
}

func TestRunShutdownGraceCutsOff(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/tags/list") {
			once.Do(func() { close(entered) })
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer hung.Close()
	defer close(release)

	const grace = 300 * time.Millisecond
	r := startRun(t, nil, "--listen", "127.0.0.1:0", "--allow-anonymous", "--upstream", "hung="+hung.URL, "--shutdown-grace", grace.String())
	go func() {
		resp, err := http.Get(r.base + "/api/v1/repos/hung/app/-/tags")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	took, err := r.stop(t, 30*time.Second)
	if err == nil || !strings.Contains(err.Error(), "shutdown") {
		t.Errorf("run() = %v, want a shutdown error naming the cut-off requests", err)
	}
	if took > grace+5*time.Second {
		t.Errorf("run() returned %s after cancel, want about the %s grace", took, grace)
	}
}

func TestRunErrors(t *testing.T) {
	busy := httptest.NewServer(http.NotFoundHandler())
	defer busy.Close()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no upstreams", []string{"--listen", "127.0.0.1:0"}, "no upstreams"},
		{"address in use", []string{"--listen", strings.TrimPrefix(busy.URL, "http://"), "--upstream", "a=http://127.0.0.1:1"}, "listen:"},
		{"address in use, demo", []string{"--listen", strings.TrimPrefix(busy.URL, "http://"), "--demo"}, "listen:"},
		{"bad config", []string{"--config", "/nonexistent/regapi.yaml"}, "config:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, func(string) string { return "" }, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
			if strings.Contains(stderr.String(), "demo registry seeded") {
				t.Errorf("run(%q) seeded the demo before failing", tt.args)
			}
		})
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Errorf("run(--version) = %v", err)
	}
	if !strings.HasPrefix(out.String(), "regapi "+version+" (revision ") || !strings.Contains(out.String(), runtime.Version()) {
		t.Errorf("run(--version) printed %q, want the version, revision and Go version", out.String())
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Errorf("run(--help) = %v, want nil", err)
	}
	if !strings.Contains(stderr.String(), "REGAPI_SOME_FLAG") || !strings.Contains(stderr.String(), "-upstream NAME=URL") {
		t.Errorf("run(--help) usage = %q, want the flags and the variable rule", stderr.String())
	}
}

// checkPipe checks body the way the example's shell pipe would use it.
func checkPipe(pipe string, body []byte) error {
	switch {
	case pipe == "":
		return nil
	case strings.HasPrefix(pipe, "tar -t"):
		_, err := tarFiles(body)
		return err
	case strings.HasPrefix(pipe, "tar -xOf - "):
		files, err := tarFiles(body)
		if err != nil {
			return err
		}
		want := strings.TrimPrefix(pipe, "tar -xOf - ")
		if _, ok := files[want]; !ok {
			return fmt.Errorf("tar has no %s", want)
		}
		return nil
	}
	return errors.New("test does not know pipe " + pipe)
}
