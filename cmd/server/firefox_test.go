package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The Firefox test drives Debian's firefox-esr, headless, over Marionette
// (marionette_test.go): the same UI in the other engine the UI supports.

// firefoxBinary is the browser's name on PATH (Debian's package
// "firefox-esr"; scripts/test installs it).
const firefoxBinary = "firefox-esr"

// firefoxStartTimeout bounds the start of Firefox up to a session, and its
// quit.
const firefoxStartTimeout = 30 * time.Second

// firefoxPrefs keep a test profile quiet: no update checks, telemetry,
// first-run or default-browser pages; remote.prefs.recommended adds
// Marionette's own list of prefs for automation (which points Firefox's
// own services at dummy URLs: it reaches no network). Pages' uncaught
// errors go to stdout ("JavaScript error: <url>, line <n>: …"), where
// pageErrors finds them: Marionette has no console.
const firefoxPrefs = `user_pref("marionette.port", %d);
user_pref("remote.prefs.recommended", true);
user_pref("app.update.disabledForTesting", true);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("startup.homepage_welcome_url", "about:blank");
user_pref("browser.startup.page", 0);
user_pref("devtools.console.stdout.content", true);
`

// testFirefox is one Firefox with one Marionette session; its one tab is
// the page the test drives.
type testFirefox struct {
	t     *testing.T
	m     *marionette
	shots string
	log   string // Firefox's stdout and stderr, for failure messages
}

// startFirefox starts firefox-esr headless with a fresh profile and opens
// a Marionette session, or fails the test with what to install: a missing
// browser is a broken setup, not a reason to skip. The test's cleanup
// quits Firefox and fails if any process of it is left.
func startFirefox(t *testing.T) *testFirefox {
	t.Helper()
	path, err := exec.LookPath(firefoxBinary)
	if err != nil {
		t.Fatalf("%s not found on PATH (%v): run scripts/test, or apt-get install -y --no-install-recommends firefox-esr", firefoxBinary, err)
	}
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile")
	port := freeLoopbackPort(t)
	if err := os.Mkdir(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), fmt.Appendf(nil, firefoxPrefs, port), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &testFirefox{t: t, shots: screenshotDir(t), log: filepath.Join(dir, "firefox.log")}
	logFile, err := os.Create(f.log)
	if err != nil {
		t.Fatal(err)
	}
	// Firefox writes through its own copy; this one is closed once it has it.
	defer func() {
		if err := logFile.Close(); err != nil {
			t.Error(err)
		}
	}()

	cmd := exec.Command(path, "--headless", "--marionette", "--no-remote", "--profile", profile, "about:blank") //nolint:gosec // G204: the firefox found on PATH, with the test's own arguments
	// A file, not a pipe: Wait then does not wait for a content process
	// that holds the pipe open.
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1", "MOZ_HEADLESS_WIDTH=1280", "MOZ_HEADLESS_HEIGHT=900")
	// Its own process group: Firefox's content processes are in it, and
	// the cleanup checks that none of them is left.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	// exited is closed once Firefox's main process ended and was reaped.
	exited := make(chan struct{})
	// Its exit status says nothing: quit may kill it; quit's leak check is
	// the test.
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { f.quit(cmd.Process.Pid, exited) })

	ctx, cancel := context.WithTimeout(context.Background(), firefoxStartTimeout)
	defer cancel()
	f.m, err = connectMarionette(ctx, "127.0.0.1:"+strconv.Itoa(port), exited)
	if err != nil {
		t.Fatalf("marionette: %v\n%s", err, f.logTail())
	}
	// Marionette takes the capabilities themselves as the parameters (an
	// unknown key such as WebDriver's "capabilities" wrapper is ignored).
	if err := f.m.call(ctx, "WebDriver:NewSession", map[string]any{"pageLoadStrategy": "normal"}, nil); err != nil {
		t.Fatalf("%v\n%s", err, f.logTail())
	}
	return f
}

// connectMarionette dials addr until Firefox listens there, it exits or
// ctx ends.
func connectMarionette(ctx context.Context, addr string, exited <-chan struct{}) (*marionette, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		m, err := dialMarionette(ctx, addr)
		if err == nil {
			return m, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("firefox exited before it listened at %s", addr)
		case <-ctx.Done():
			return nil, fmt.Errorf("no marionette at %s: %w", addr, err)
		case <-tick.C:
		}
	}
}

// freeLoopbackPort returns a port nothing listened on a moment ago
// (Firefox takes the port from its profile, so it cannot be handed a
// listener).
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// quit ends the session and Firefox, killing its process group if it
// does not quit in time, and fails the test if a process of the group is
// still running afterwards.
func (f *testFirefox) quit(pgid int, exited <-chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), firefoxStartTimeout)
	defer cancel()
	// Quit ends the session too (WebDriver:DeleteSession first would leave
	// no session to quit in); it answers before Firefox is gone, exited
	// says when it is.
	// A kill's error (the group is gone already) says nothing: the leak
	// check below is what counts.
	if f.m == nil {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	} else if err := f.m.call(ctx, "Marionette:Quit", map[string]any{"flags": []string{"eForceQuit"}}, nil); err != nil {
		f.t.Errorf("%v; killing firefox", err)
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	if f.m != nil {
		if err := f.m.close(); err != nil {
			f.t.Errorf("close marionette: %v", err)
		}
	}
	select {
	case <-exited:
	case <-ctx.Done():
		f.t.Errorf("firefox did not quit within %v; killing it", firefoxStartTimeout)
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // see above
		<-exited
	}
	// The content processes end after the parent; wait for them, bounded.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		left, err := processGroup(pgid)
		if err != nil {
			f.t.Errorf("list firefox's processes: %v", err)
			return
		}
		if len(left) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			f.t.Errorf("firefox left processes %v running; killing them", left)
			_ = syscall.Kill(-pgid, syscall.SIGKILL) // the test has failed already
			return
		case <-tick.C:
		}
	}
}

// processGroup returns the processes of group pgid that are not zombies,
// from /proc.
func processGroup(pgid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if errors.Is(err, os.ErrNotExist) {
			continue // gone meanwhile
		} else if err != nil {
			return nil, err
		}
		// "pid (comm) state ppid pgrp …"; comm may hold spaces and ")".
		i := strings.LastIndexByte(string(stat), ')')
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 3 || fields[0] == "Z" {
			continue
		}
		if g, _ := strconv.Atoi(fields[2]); g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// pageErrors returns the uncaught errors and unhandled rejections of web
// pages Firefox printed so far (its own errors are in resource:// and
// chrome:// scripts).
func (f *testFirefox) pageErrors() []string {
	b, _ := os.ReadFile(f.log)
	var errs []string
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "JavaScript error: http") {
			errs = append(errs, strings.TrimSpace(line))
		}
	}
	return errs
}

// logTail is the end of what Firefox printed.
func (f *testFirefox) logTail() string {
	b, _ := os.ReadFile(f.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "firefox log:\n" + string(b)
}

// TestProcessGroup shows the leak check sees a running process of a group
// and stops seeing it once it ended.
func TestProcessGroup(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if got, err := processGroup(pid); err != nil || len(got) != 1 || got[0] != pid {
		t.Errorf("processGroup(%d) = %v, %v, want [%d]", pid, got, err, pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // reaps it; its error is the kill's "signal: killed"
	if got, err := processGroup(pid); err != nil || len(got) != 0 {
		t.Errorf("processGroup(%d) after the end = %v, %v, want none", pid, got, err)
	}
}
