package registry_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// TestConnectionReuse counts requests: N GetDigest calls on one client (and
// on clients derived from it with WithSegment) cost N manifest requests plus
// one /v2/ handshake, with and without authentication.
func TestConnectionReuse(t *testing.T) {
	const n = 10
	auth := authn.FromConfig(authn.AuthConfig{Username: "u", Password: "p"})
	tests := []struct {
		name string
		reg  func(t *testing.T) *registrytest.Registry
		opts registry.Options
		push []remote.Option
	}{
		{"ggcr", func(t *testing.T) *registrytest.Registry { return registrytest.StartGGCR(t, false) }, registry.Options{}, nil},
		{"distribution htpasswd", func(t *testing.T) *registrytest.Registry {
			return registrytest.StartDistribution(t, &registrytest.DistributionOptions{Users: map[string]string{"u": "p"}})
		}, registry.Options{Auth: auth}, []remote.Option{remote.WithAuth(auth)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := tc.reg(t)
			registrytest.PushRandomImage(t, reg.Host, "org/app", "v1", tc.push...)
			reg.ResetRequests()

			base := newClient(t, reg.Host, &tc.opts)
			app := base.WithSegment("org", "app")
			for i := range n {
				c := app
				if i%2 == 1 {
					c = base.WithSegment("org").WithSegment("app") // derived clients share the state
				}
				if _, err := c.GetDigest(ctx, "v1"); err != nil {
					t.Fatalf("GetDigest #%d: %v", i, err)
				}
			}
			pings := pings(reg)
			heads := reg.CountRequests("HEAD", "/v2/org/app/manifests/")
			total := len(reg.Requests())
			t.Logf("%d GetDigest: %d requests (%d pings, %d HEAD manifests)", n, total, pings, heads)
			if pings != 1 || heads != n || total != n+1 {
				t.Errorf("%d GetDigest = %d requests (%d pings, %d HEADs), want %d (1 ping, %d HEADs): %q",
					n, total, pings, heads, n+1, n, reg.Requests())
			}

			// Listing pings once for all scopes, then one request per page.
			reg.ResetRequests()
			for range 3 {
				if _, err := app.ListTags(ctx); err != nil {
					t.Fatalf("ListTags: %v", err)
				}
			}
			if got := len(reg.Requests()); got != 4 {
				t.Errorf("3 ListTags = %d requests, want 4 (1 ping + 3 pages): %q", got, reg.Requests())
			}
		})
	}
}

// TestConcurrentCalls runs the whole API concurrently on one client; run
// with -race.
func TestConcurrentCalls(t *testing.T) {
	host := registrytest.NewDistribution(t, nil)
	registrytest.PushRandomImage(t, host, "org/app", "v1")
	registrytest.PushRandomIndex(t, host, "org/app", "multi")
	base := newClient(t, host, nil)
	dst := base.WithSegment("mirror")

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := base.WithSegment("org", "app")
			for i := range 3 {
				if _, err := c.GetDigest(ctx, "v1"); err != nil {
					errs <- err
				}
				if _, err := c.GetManifest(ctx, "multi"); err != nil {
					errs <- err
				}
				img, err := c.GetImage(ctx, "multi")
				if err != nil {
					errs <- err
					continue
				}
				rc := img.Extract()
				countTarEntries(t, rc)
				if err := rc.Close(); err != nil {
					errs <- err
				}
				if _, err := c.ListTags(ctx); err != nil {
					errs <- err
				}
				if _, err := base.ListRepositories(ctx); err != nil {
					errs <- err
				}
				if _, err := c.CopyImage(ctx, "multi", dst.WithSegment(fmt.Sprint(g)), fmt.Sprint("t", i)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	repos, err := dst.ListRepositories(ctx)
	if err != nil || len(repos) != 8 {
		t.Errorf("mirror repositories = %q, %v, want 8", repos, err)
	}
}

// TestPullerRenewal: the per-repository handshake cache is bounded; past the
// bound a new generation starts and handshakes again.
func TestPullerRenewal(t *testing.T) {
	reg := registrytest.StartGGCR(t, false)
	for _, r := range []string{"a", "b", "c"} {
		registrytest.PushRandomImage(t, reg.Host, r, "v1")
	}
	reg.ResetRequests()
	c := newClient(t, reg.Host, nil)
	registry.SetMaxRepos(c, 2)
	for _, r := range []string{"a", "b", "a", "b", "c", "a"} {
		if _, err := c.WithSegment(r).GetDigest(ctx, "v1"); err != nil {
			t.Fatalf("GetDigest(%s): %v", r, err)
		}
	}
	// a, b: 2 handshakes; c starts a new generation (1), a is new in it (1).
	if pings := pings(reg); pings != 4 {
		t.Errorf("handshakes = %d, want 4: %q", pings, reg.Requests())
	}
}

// pings counts the /v2/ handshakes a registry has seen.
func pings(reg *registrytest.Registry) int {
	n := 0
	for _, r := range reg.Requests() {
		if r == "GET /v2/" {
			n++
		}
	}
	return n
}
