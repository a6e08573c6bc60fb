package handlers

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"

	"github.com/regapi/regapi/api"
)

// loadSpec parses and validates api/openapi.yaml.
func loadSpec(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.Spec)
	if err != nil {
		t.Fatalf("load api/openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("api/openapi.yaml is invalid: %v", err)
	}
	return doc
}

// purgeCount is a Purger that remembers what it was asked.
type purgeCount struct {
	mu       sync.Mutex
	prefixes []string
}

func (p *purgeCount) Purge(prefix string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prefixes = append(p.prefixes, prefix)
	return 3
}

// TestRoutesMatchSpec walks the router and fails when a route is missing from
// the spec or the spec has a route the router lacks. The repository
// wildcard stands for the logical routes of apiroutes.go, the UI's
// wildcard for its one entry, /ui/.
func TestRoutesMatchSpec(t *testing.T) {
	doc := loadSpec(t)
	router, ok := NewServer(Config{Cache: &purgeCount{}, Metrics: http.NotFoundHandler(), UI: http.NotFoundHandler()}).(chi.Routes)
	if !ok {
		t.Fatal("NewServer does not return a chi router")
	}
	served := map[string]bool{}
	err := chi.Walk(router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if route == reposPrefix+"*" {
			for _, rt := range repoRoutes {
				if rt.allows(method) {
					served[method+" "+rt.Pattern] = true
				}
			}
			return nil
		}
		if route == uiPrefix+"*" {
			route = uiPrefix
		}
		served[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatalf("chi.Walk: %v", err)
	}
	// Every method a logical route lists must reach the wildcard.
	for _, rt := range repoRoutes {
		for _, m := range rt.Methods {
			if !served[m+" "+rt.Pattern] {
				t.Errorf("route table lists %s %s but the router has no %s %s*", m, rt.Pattern, m, reposPrefix)
			}
		}
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for _, r := range sortedKeys(served) {
		if !documented[r] {
			t.Errorf("router serves %s, api/openapi.yaml does not document it", r)
		}
	}
	for _, r := range sortedKeys(documented) {
		if !served[r] {
			t.Errorf("api/openapi.yaml documents %s, the router does not serve it", r)
		}
	}
	if len(served) < 12 {
		t.Errorf("router walk found %d routes, want at least 12: %v", len(served), sortedKeys(served))
	}
}

// TestOptionalRoutes checks that DELETE /api/v1/cache exists only with a
// cache, GET /metrics only with a metrics handler and /ui only with a UI.
func TestOptionalRoutes(t *testing.T) {
	router := NewServer(Config{}).(chi.Routes)
	if router.Match(chi.NewRouteContext(), http.MethodDelete, "/api/v1/cache") {
		t.Error("DELETE /api/v1/cache is routed without a cache")
	}
	if router.Match(chi.NewRouteContext(), http.MethodGet, "/metrics") {
		t.Error("GET /metrics is routed without a metrics handler")
	}
	for _, path := range []string{"/ui", "/ui/", "/ui/repos/demo"} {
		if router.Match(chi.NewRouteContext(), http.MethodGet, path) {
			t.Errorf("GET %s is routed without a UI", path)
		}
	}
}

// TestSpecProblemCodes keeps the spec's code enum and the catalog in step.
func TestSpecProblemCodes(t *testing.T) {
	doc := loadSpec(t)
	var enum []string
	for _, v := range doc.Components.Schemas["Problem"].Value.Properties["code"].Value.Enum {
		enum = append(enum, v.(string))
	}
	var codes []string
	for _, c := range problemCodes {
		codes = append(codes, c.Code)
	}
	if !slices.Equal(enum, codes) {
		t.Errorf("Problem.code enum = %v, want the catalog %v", enum, codes)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
