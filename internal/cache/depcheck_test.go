package cache

import (
	"slices"
	"strings"
	"testing"

	"github.com/regapi/regapi/internal/depcheck"
)

// The cache sits between the HTTP layer and the registry client and knows
// neither HTTP serving nor the handlers: it may use the registry contract,
// go-containerregistry's types, the LRU, Prometheus and the Redis client of
// the shared tier, and no net/http.
func TestDependencies(t *testing.T) {
	allowed := []string{
		"github.com/google/go-containerregistry/pkg/v1",
		"github.com/google/go-containerregistry/pkg/v1/remote/transport",
		"github.com/google/go-containerregistry/pkg/v1/types",
		"github.com/regapi/regapi/internal/lru",
		"github.com/prometheus/client_golang/prometheus",
		"github.com/redis/go-redis/v9",
		"github.com/regapi/regapi/internal/registry",
	}
	forbiddenStd := []string{"net/http"}
	imports, err := depcheck.Imports(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range imports {
		path := imp.Path
		bad := !slices.Contains(allowed, path)
		if depcheck.IsStd(path) {
			bad = slices.ContainsFunc(forbiddenStd, func(f string) bool {
				return path == f || strings.HasPrefix(path, f+"/")
			})
		}
		if bad {
			t.Errorf("%s imports %s, which the cache may not depend on", imp.File, path)
		}
	}
}
