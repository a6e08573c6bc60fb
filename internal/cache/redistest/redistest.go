// Package redistest runs a real redis-server for tests: on a free loopback
// port, with persistence off, in its own temporary directory, stopped at the
// test's cleanup. It never uses a server the machine already runs.
//
// A missing redis-server binary fails the test; scripts/test installs it.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// startBound is how long a server may take to answer PING after it was
// started; redis-server needs a few milliseconds, a loaded CI machine more.
const startBound = 10 * time.Second

// pollEvery is the pause between PINGs while a server starts.
const pollEvery = 5 * time.Millisecond

// Server is a redis-server process owned by one test.
type Server struct {
	// Addr is "127.0.0.1:port".
	Addr string
	// URL is "redis://127.0.0.1:port", the value of cache.shared.url.
	URL string

	t   testing.TB
	dir string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a redis-server on a free loopback port and stops it when the
// test ends. It fails the test when the binary is missing.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed: run scripts/test (it installs it on Debian) or apt-get install redis-server")
	}
	s := &Server{t: t, dir: t.TempDir()}
	port, err := freePort()
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s.URL = "redis://" + s.Addr
	t.Cleanup(s.Stop)
	s.Restart()
	return s
}

// Restart starts the server again on the same port after Stop (it is a no-op
// while the server runs). Its data is gone: persistence is off.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	// The arguments are this package's own; port comes from freePort.
	cmd := exec.Command("redis-server", //nolint:gosec // G204: see above
		"--bind", "127.0.0.1", "--port", port,
		"--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no", "--logfile", "")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() {
		// Killed by Stop, or exited at start (reported with its output):
		// the exit status adds nothing.
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(startBound)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !ping(s.Addr) {
		select {
		case <-done:
			s.cmd = nil
			s.t.Fatalf("redis-server on %s exited at start:\n%s", s.Addr, out.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s does not answer PING after %s:\n%s", s.Addr, startBound, out.String())
		}
	}
}

// Stop stops the server and waits until it has exited. Clients see their
// connections refused until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Errorf("stop %s: %v", s, err)
	}
	<-s.done
	s.cmd = nil
}

// ping reports whether a server at addr answers PING with PONG.
func ping(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer func() { _ = conn.Close() }() // a probe: nothing written is lost
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return false
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}

// freePort returns a loopback port nothing listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }() // only its port was wanted
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// String names the server in test output.
func (s *Server) String() string { return fmt.Sprintf("redis-server at %s", s.Addr) }
