package redistest

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	if !ping(s.Addr) {
		t.Fatalf("%s does not answer after Start", s)
	}
	s.Stop()
	if ping(s.Addr) {
		t.Fatalf("%s still answers after Stop", s)
	}
	s.Restart()
	if !ping(s.Addr) {
		t.Fatalf("%s does not answer after Restart", s)
	}
}
