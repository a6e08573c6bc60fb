package handlers

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// TestMain fails the package when a test leaves goroutines behind (a
// stream not closed, a load never finished).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, registrytest.LeakOptions()...)
}
