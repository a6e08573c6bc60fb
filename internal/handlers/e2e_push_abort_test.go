package handlers

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/regapi/regapi/internal/transfer/transfertest"
)

// startPartialUpload opens a connection to the API and sends a PUT that
// announces a complete docker archive but carries only its first sent
// bytes. It returns the connection, still open.
func startPartialUpload(t *testing.T, w *writeWorld, sent int) net.Conn {
	t.Helper()
	body := transfertest.DockerArchive(t, must(random.Image(1<<20, 1)))
	if sent >= len(body) {
		t.Fatalf("archive of %d bytes is not longer than %d", len(body), sent)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(w.api.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() }) // the test may have closed it already
	head := fmt.Sprintf("PUT /api/v1/repos/dst/team/app/-/images/v1 HTTP/1.1\r\nHost: regapi\r\n"+
		"Authorization: Bearer %s\r\nContent-Type: application/x-tar\r\nContent-Length: %d\r\n\r\n", w.api.token, len(body))
	if _, err := conn.Write(append([]byte(head), body[:sent]...)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// waitFor polls cond until it holds, failing the test after 10 s. It waits
// for a state another goroutine reaches, never for a guessed duration.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// finished waits until the handler of an upload returned.
func (w *writeWorld) waitFinished(t *testing.T) {
	t.Helper()
	select {
	case <-w.finished:
	case <-time.After(10 * time.Second):
		t.Fatal("the upload's handler did not return")
	}
}

// TestUploadClientAbort: a client that goes away mid-upload leaves no
// spool file and nothing upstream.
func TestUploadClientAbort(t *testing.T) {
	w := newWriteWorld(t, writeOptions{})
	conn := startPartialUpload(t, w, 256<<10)
	waitFor(t, "the spool file", func() bool { return len(w.spoolFiles(t)) == 1 })
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	w.waitFinished(t)
	w.assertSpoolEmpty(t)
	if n := writesTo(w.dst); n != 0 {
		t.Errorf("the registry saw %d write requests, want 0", n)
	}
}

// TestUploadStalled: a body that stops making progress is ended after the
// idle timeout with 408, and its spool file removed; the connection is
// still answered.
func TestUploadStalled(t *testing.T) {
	w := newWriteWorld(t, writeOptions{Writes: Writes{UploadIdleTimeout: 200 * time.Millisecond}})
	conn := startPartialUpload(t, w, 64<<10)
	// Without the idle timeout the server would wait for ever; the test
	// gives up long before.
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("stalled upload = %d %s, want 408 application/problem+json", res.StatusCode, res.Header.Get("Content-Type"))
	}
	w.waitFinished(t)
	w.assertSpoolEmpty(t)
	if n := writesTo(w.dst); n != 0 {
		t.Errorf("the registry saw %d write requests, want 0", n)
	}
}
