package registrytest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	// The access controller and storage driver register themselves by name.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// DistributionOptions configures NewDistribution. The zero value (or nil) is
// an anonymous plain-HTTP registry whose catalog serves up to 1000 entries.
type DistributionOptions struct {
	// Users turns on htpasswd basic auth with these user → password pairs.
	Users map[string]string
	// TLS serves HTTPS with httptest's self-signed certificate.
	TLS bool
	// CatalogMaxEntries caps a catalog page. The default value is 1000, the
	// distribution registry's own default (its config loader sets it; NewApp
	// alone leaves it 0, which breaks the catalog).
	CatalogMaxEntries int
	// MaxTags caps a tags page. Zero means no cap.
	MaxTags int
	// EmptyRepositories are planted straight in the registry's storage:
	// each is in the catalog and holds nothing. Tens of thousands take
	// moments, where pushing them takes minutes under -race.
	EmptyRepositories []string
	// Tags are planted straight in the registry's storage too: repository
	// → tags. They list, page by page as pushed ones do, but name no
	// manifest. Thousands take moments, where pushing them takes a minute
	// under -race.
	Tags map[string][]string
}

// NewDistribution starts the CNCF distribution registry v3 with in-memory
// storage and returns its host ("127.0.0.1:port").
func NewDistribution(t testing.TB, opts *DistributionOptions) string {
	t.Helper()
	return StartDistribution(t, opts).Host
}

// StartDistribution is NewDistribution returning the whole Registry (request
// log, TLS certificate).
func StartDistribution(t testing.TB, opts *DistributionOptions) *Registry {
	t.Helper()
	if opts == nil {
		opts = &DistributionOptions{}
	}
	quietLogrus()

	cfg := &configuration.Configuration{}
	storage := configuration.Storage{"inmemory": configuration.Parameters{}}
	if len(opts.EmptyRepositories) > 0 || len(opts.Tags) > 0 {
		storage = configuration.Storage{plantedDriver: configuration.Parameters{
			"repositories": append([]string{}, opts.EmptyRepositories...),
			"tags":         opts.Tags,
		}}
	}
	cfg.Storage = configuration.Storage{
		// The purger is a goroutine that outlives the test otherwise.
		"maintenance": configuration.Parameters{
			"uploadpurging": map[any]any{"enabled": false},
		},
	}
	for name, params := range storage {
		cfg.Storage[name] = params
	}
	cfg.Catalog.MaxEntries = opts.CatalogMaxEntries
	if cfg.Catalog.MaxEntries <= 0 {
		cfg.Catalog.MaxEntries = 1000
	}
	cfg.Tags.MaxTags = opts.MaxTags
	cfg.HTTP.Secret = "registrytest-secret"
	cfg.Log.AccessLog.Disabled = true
	cfg.Log.Level = "error"
	if len(opts.Users) > 0 {
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{
			"realm": "registrytest",
			"path":  writeHtpasswd(t, opts.Users),
		}}
	}

	ctx, cancel := context.WithCancel(context.Background())
	app := handlers.NewApp(ctx, cfg)
	t.Cleanup(func() {
		_ = app.Shutdown()
		cancel()
	})
	r := &Registry{}
	r.serve(t, app, opts.TLS)
	return r
}

// writeHtpasswd writes a bcrypt htpasswd file into t.TempDir.
func writeHtpasswd(t testing.TB, users map[string]string) string {
	t.Helper()
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, u := range names {
		// MinCost keeps the tests fast; the cost is irrelevant here.
		h, err := bcrypt.GenerateFromPassword([]byte(users[u]), bcrypt.MinCost)
		if err != nil {
			t.Fatalf("bcrypt: %v", err)
		}
		fmt.Fprintf(&b, "%s:%s\n", u, h)
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatalf("write htpasswd: %v", err)
	}
	return path
}

var quietOnce sync.Once

// quietLogrus silences the distribution registry's logging, which goes to
// logrus's standard logger and reports every 404 at error level.
func quietLogrus() {
	quietOnce.Do(func() {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.PanicLevel)
	})
}
