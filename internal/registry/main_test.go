package registry_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, registrytest.LeakOptions()...)
}

// newClient returns a client for a plain-HTTP test registry at host, logging
// at debug level to the test log when REGAPI_TEST_DEBUG is set.
func newClient(t testing.TB, host string, opts *registry.Options) registry.Client {
	t.Helper()
	if opts == nil {
		opts = &registry.Options{}
	}
	o := *opts
	if !o.TLSSkipVerify && o.CA == nil {
		o.Insecure = true
	}
	if os.Getenv("REGAPI_TEST_DEBUG") != "" && o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return registry.NewClientWithOptions(host, &o)
}

// registries runs f against both in-process registries.
func registries(t *testing.T, f func(t *testing.T, host string)) {
	t.Helper()
	t.Run("distribution", func(t *testing.T) { f(t, registrytest.NewDistribution(t, nil)) })
	t.Run("ggcr", func(t *testing.T) { f(t, registrytest.NewGGCR(t)) })
}

var ctx = context.Background()
