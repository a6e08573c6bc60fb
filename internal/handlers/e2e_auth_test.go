package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// The callers of the access-control tests: each token's secret is its name
// with a suffix long enough for auth's minimum.
var authTokens = []struct {
	name  string
	scope auth.Scope
}{
	{"reader", auth.Scope{Registry: "dist", Repositories: []string{"library/*"}, Actions: []auth.Action{auth.ActionPull}}},
	{"team", auth.Scope{Registry: "dist", Repositories: []string{"team/**"}, Actions: []auth.Action{auth.ActionPull}}},
	{"pusher", auth.Scope{Registry: "dist", Repositories: []string{"team/app"}, Actions: []auth.Action{auth.ActionPush}}},
	{"ops", auth.Scope{Registry: "*", Repositories: []string{"**"}, Actions: []auth.Action{auth.ActionAdmin}}},
	{"distadmin", auth.Scope{Registry: "dist", Repositories: []string{"**"}, Actions: []auth.Action{auth.ActionAdmin}}},
	{"teamadmin", auth.Scope{Registry: "dist", Repositories: []string{"team/**"}, Actions: []auth.Action{auth.ActionAdmin}}},
}

// secretOf is the bearer token of a test caller.
func secretOf(name string) string { return name + "-secret-0123456789" }

// authRepos are the repositories of the access-control registry, sorted.
var authRepos = []string{"library/alpine", "other/x", "team/app", "team/app/web"}

// authWorld is regapi with tokens in front of a distribution registry that
// wants htpasswd credentials, served as "dist" and again as "mirror".
type authWorld struct {
	api  *apiEnv
	dist *registrytest.Registry
}

// newAuthWorld starts the registry (its password is upstreamPassword),
// seeds it, and serves it with the authTokens plus any extra tokens.
func newAuthWorld(t *testing.T, anonymous bool, upstreamPassword string, logger *slog.Logger, extra ...auth.Token) *authWorld {
	t.Helper()
	dist := registrytest.StartDistribution(t, &registrytest.DistributionOptions{Users: map[string]string{"robot": upstreamPassword}})
	creds := &authn.Basic{Username: "robot", Password: upstreamPassword}
	for _, repo := range authRepos {
		registrytest.PushRandomImage(t, dist.Host, repo, "latest", remote.WithAuth(creds))
	}
	c, err := cache.New()
	if err != nil {
		t.Fatal(err)
	}
	client := func() registry.Client { return clientFor(dist.Host, &registry.Options{Auth: creds}) }
	acfg := auth.Config{AllowAnonymous: anonymous, Tokens: extra}
	for _, tk := range authTokens {
		acfg.Tokens = append(acfg.Tokens, tokenFor(tk.name, secretOf(tk.name), tk.scope))
	}
	a := newAPI(t, Config{
		Upstreams: []Upstream{
			{Name: "dist", Host: dist.Host, Client: c.Wrap("dist", client())},
			{Name: "mirror", Host: dist.Host, Client: c.Wrap("mirror", client())},
		},
		Cache:  c,
		Logger: logger,
		Auth:   newAuth(t, acfg),
	})
	return &authWorld{api: a, dist: dist}
}

// as sends a request as caller: "" sends no Authorization header,
// "wrong" an unknown token, anything else that token.
func (w *authWorld) as(t *testing.T, caller, method, path string) response {
	t.Helper()
	h := http.Header{}
	switch caller {
	case "":
	case "wrong":
		h.Set("Authorization", "Bearer not-a-configured-token-0000")
	default:
		h.Set("Authorization", "Bearer "+secretOf(caller))
	}
	return w.api.do(t, method, path, h)
}

// TestAccessControl answers every route for every caller shape, with
// anonymous pulls off and on, over real HTTP against a distribution
// registry with htpasswd auth: 401 with WWW-Authenticate, 403 DENIED, or
// success; refusals never reach the upstream.
func TestAccessControl(t *testing.T) {
	callers := []string{"", "wrong", "reader", "team", "pusher", "ops", "distadmin", "teamadmin"}
	const alpine = "/api/v1/repos/dist/library/alpine/-/"
	// want holds one status per caller, in the order of callers; the first
	// (no token) is given for anonymous off and on.
	tests := []struct {
		method, path    string
		anonOff, anonOn int
		want            [7]int // wrong, reader, team, pusher, ops, distadmin, teamadmin
	}{
		{"GET", "/api/v1/registries", 401, 200, [7]int{401, 200, 200, 200, 200, 200, 200}},
		{"GET", "/api/v1/repos/dist/-/repositories", 401, 200, [7]int{401, 200, 200, 200, 200, 200, 200}},
		{"GET", "/api/v1/repos/dist/-/repositories?delimiter=/", 401, 200, [7]int{401, 200, 200, 200, 200, 200, 200}},
		{"GET", "/api/v1/repos/dist/team/-/repositories", 401, 200, [7]int{401, 403, 200, 200, 200, 200, 200}},
		{"GET", "/api/v1/repos/dist/library/-/repositories", 401, 200, [7]int{401, 200, 403, 403, 200, 200, 403}},
		{"GET", alpine + "tags", 401, 200, [7]int{401, 200, 403, 403, 200, 200, 403}},
		{"GET", alpine + "manifests/latest", 401, 200, [7]int{401, 200, 403, 403, 200, 200, 403}},
		{"HEAD", alpine + "manifests/latest", 401, 200, [7]int{401, 200, 403, 403, 200, 200, 403}},
		{"GET", alpine + "digest/latest", 401, 200, [7]int{401, 200, 403, 403, 200, 200, 403}},
		{"GET", alpine + "config/latest", 401, 200, [7]int{401, 200, 403, 403, 200, 200, 403}},
		{"GET", alpine + "extract/latest", 401, 200, [7]int{401, 200, 403, 403, 200, 200, 403}},
		{"GET", "/api/v1/repos/dist/team/app/-/tags", 401, 200, [7]int{401, 403, 200, 200, 200, 200, 200}},
		{"GET", "/api/v1/repos/dist/team/app/web/-/tags", 401, 200, [7]int{401, 403, 200, 403, 200, 200, 200}},
		{"GET", "/api/v1/repos/mirror/library/alpine/-/tags", 401, 200, [7]int{401, 403, 403, 403, 200, 403, 403}},
		// An unknown registry is 403 to a token scoped elsewhere: no oracle.
		{"GET", "/api/v1/repos/nope/library/alpine/-/tags", 401, 404, [7]int{401, 403, 403, 403, 404, 403, 403}},
		{"DELETE", "/api/v1/cache", 401, 401, [7]int{401, 403, 403, 403, 200, 403, 403}},
		{"DELETE", "/api/v1/cache?prefix=dist", 401, 401, [7]int{401, 403, 403, 403, 200, 200, 403}},
		{"DELETE", "/api/v1/cache?prefix=dist/team", 401, 401, [7]int{401, 403, 403, 403, 200, 200, 200}},
		{"DELETE", "/api/v1/cache?prefix=dist/team/app", 401, 401, [7]int{401, 403, 403, 403, 200, 200, 200}},
		{"DELETE", "/api/v1/cache?prefix=mirror", 401, 401, [7]int{401, 403, 403, 403, 200, 403, 403}},
		// Public routes answer whoever asks, a wrong token included.
		{"GET", "/healthz", 200, 200, [7]int{200, 200, 200, 200, 200, 200, 200}},
		{"GET", "/readyz", 200, 200, [7]int{200, 200, 200, 200, 200, 200, 200}},
		{"GET", "/openapi.yaml", 200, 200, [7]int{200, 200, 200, 200, 200, 200, 200}},
	}
	for _, anonymous := range []bool{false, true} {
		t.Run(fmt.Sprintf("anonymous=%t", anonymous), func(t *testing.T) {
			w := newAuthWorld(t, anonymous, "upstream-password", nil)
			for _, tt := range tests {
				for i, caller := range callers {
					want := tt.anonOff
					if anonymous {
						want = tt.anonOn
					}
					if i > 0 {
						want = tt.want[i-1]
					}
					before := len(w.dist.Requests())
					res := w.as(t, caller, tt.method, tt.path)
					if res.Status != want {
						t.Errorf("%s %s as %q = %d, want %d; body %s", tt.method, tt.path, caller, res.Status, want, res.Body)
						continue
					}
					checkRefusal(t, w, res, tt.method, tt.path, caller, before)
				}
			}
		})
	}
}

// checkRefusal checks a 401 or 403: its problem code and header, and that
// the upstream saw nothing of it.
func checkRefusal(t *testing.T, w *authWorld, res response, method, path, caller string, before int) {
	t.Helper()
	if res.Status != 401 && res.Status != 403 {
		return
	}
	if n := len(w.dist.Requests()) - before; n != 0 {
		t.Errorf("%s %s as %q = %d after %d upstream requests, want 0", method, path, caller, res.Status, n)
	}
	if res.Status == 401 {
		if got := res.Header.Get("WWW-Authenticate"); got != auth.Challenge {
			t.Errorf("%s %s as %q: WWW-Authenticate = %q, want %q", method, path, caller, got, auth.Challenge)
		}
	} else if res.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("%s %s as %q: 403 with WWW-Authenticate", method, path, caller)
	}
	if method == http.MethodHead {
		return
	}
	code := map[int]string{401: "UNAUTHORIZED", 403: "DENIED"}[res.Status]
	res.problem(t, res.Status, code)
}

// TestListingsFiltered: listings show only what the caller may pull, at the
// root catalog, one level down and across pages, from one shared cache.
func TestListingsFiltered(t *testing.T) {
	w := newAuthWorld(t, false, "upstream-password", nil)
	// ops fills the cache with the unfiltered pages first.
	w.as(t, "ops", "GET", "/api/v1/repos/dist/-/repositories")
	w.as(t, "ops", "GET", "/api/v1/repos/dist/-/repositories?delimiter=/")

	tests := []struct {
		caller, path string
		want         repositoriesResponse
	}{
		{"ops", "/api/v1/repos/dist/-/repositories", repositoriesResponse{Registry: "dist", Repositories: authRepos}},
		{"team", "/api/v1/repos/dist/-/repositories", repositoriesResponse{Registry: "dist", Repositories: []string{"team/app", "team/app/web"}}},
		{"reader", "/api/v1/repos/dist/-/repositories", repositoriesResponse{Registry: "dist", Repositories: []string{"library/alpine"}}},
		{"pusher", "/api/v1/repos/dist/-/repositories", repositoriesResponse{Registry: "dist", Repositories: []string{"team/app"}}},
		{"team", "/api/v1/repos/dist/-/repositories?delimiter=/", repositoriesResponse{Registry: "dist", Repositories: []string{}, Prefixes: []string{"team"}}},
		{"reader", "/api/v1/repos/dist/-/repositories?delimiter=/", repositoriesResponse{Registry: "dist", Repositories: []string{}, Prefixes: []string{"library"}}},
		{"pusher", "/api/v1/repos/dist/team/-/repositories?delimiter=/", repositoriesResponse{Registry: "dist", Repository: "team", Repositories: []string{"team/app"}, Prefixes: []string{}}},
		{"team", "/api/v1/repos/dist/team/-/repositories?delimiter=/", repositoriesResponse{Registry: "dist", Repository: "team", Repositories: []string{"team/app"}, Prefixes: []string{"team/app"}}},
	}
	for _, tt := range tests {
		var got repositoriesResponse
		w.as(t, tt.caller, "GET", tt.path).json(t, &got)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("GET %s as %s mismatch (-want +got):\n%s", tt.path, tt.caller, diff)
		}
	}

	// Page by page: every page is full until the last, and no cursor is a
	// repository the caller may not pull.
	for _, caller := range []string{"team", "reader", "ops"} {
		var all []string
		next := "/api/v1/repos/dist/-/repositories?limit=1"
		for pages := 0; next != ""; pages++ {
			if pages > len(authRepos) {
				t.Fatalf("%s: more than %d pages", caller, len(authRepos))
			}
			var page repositoriesResponse
			w.as(t, caller, "GET", next).json(t, &page)
			all = append(all, page.Repositories...)
			next = page.Next
			if next != "" && len(page.Repositories) != 1 {
				t.Errorf("%s: page %d has %d names and a next, want 1", caller, pages, len(page.Repositories))
			}
			for _, hidden := range authRepos {
				if !w.may(caller, hidden) && strings.Contains(next, "last="+strings.ReplaceAll(hidden, "/", "%2F")) {
					t.Errorf("%s: next %q names %s, which the caller may not pull", caller, next, hidden)
				}
			}
		}
		var want []string
		for _, r := range authRepos {
			if w.may(caller, r) {
				want = append(want, r)
			}
		}
		if diff := cmp.Diff(want, all); diff != "" {
			t.Errorf("%s: pages mismatch (-want +got):\n%s", caller, diff)
		}
	}

	for caller, want := range map[string][]string{"reader": {"dist"}, "ops": {"dist", "mirror"}} {
		var got registriesResponse
		w.as(t, caller, "GET", "/api/v1/registries").json(t, &got)
		var names []string
		for _, r := range got.Registries {
			names = append(names, r.Name)
		}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("GET /api/v1/registries as %s mismatch (-want +got):\n%s", caller, diff)
		}
	}
}

// may reports whether the test caller may pull repo of dist.
func (w *authWorld) may(caller, repo string) bool {
	for _, tk := range authTokens {
		if tk.name == caller {
			a := newAuthFor(tk.name, tk.scope)
			return a.Can(auth.ActionPull, "dist", repo)
		}
	}
	return false
}

// newAuthFor is the Principal of one configured token.
func newAuthFor(name string, scope auth.Scope) auth.Principal {
	a, err := auth.New(auth.Config{Tokens: []auth.Token{tokenFor(name, secretOf(name), scope)}}, nil)
	if err != nil {
		panic(err)
	}
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+secretOf(name))
	p, err := a.Authenticate(r)
	if err != nil {
		panic(err)
	}
	return p
}

// TestAnonymousScopes: anonymous_scopes narrow what callers without a token
// may pull; outside them the answer is 401 (a token might help), and the
// listings show only what they cover.
func TestAnonymousScopes(t *testing.T) {
	dist := registrytest.StartDistribution(t, nil)
	for _, repo := range authRepos {
		registrytest.PushRandomImage(t, dist.Host, repo, "latest")
	}
	a := newAPI(t, Config{
		Upstreams: []Upstream{
			{Name: "dist", Host: dist.Host, Client: clientFor(dist.Host, nil)},
			{Name: "other", Host: dist.Host, Client: clientFor(dist.Host, nil)},
		},
		Auth: newAuth(t, auth.Config{AllowAnonymous: true, AnonymousScopes: []auth.Scope{
			{Registry: "dist", Repositories: []string{"library/**"}, Actions: []auth.Action{auth.ActionPull}},
		}}),
	})
	for path, want := range map[string]int{
		"/api/v1/repos/dist/library/alpine/-/tags":          200,
		"/api/v1/repos/dist/library/alpine/-/digest/latest": 200,
		"/api/v1/repos/dist/team/app/-/tags":                401,
		"/api/v1/repos/other/library/alpine/-/tags":         401,
		"/api/v1/repos/dist/team/-/repositories":            401,
	} {
		if res := a.get(t, path); res.Status != want {
			t.Errorf("anonymous GET %s = %d, want %d", path, res.Status, want)
		}
	}
	var repos repositoriesResponse
	a.get(t, "/api/v1/repos/dist/-/repositories").json(t, &repos)
	if diff := cmp.Diff([]string{"library/alpine"}, repos.Repositories); diff != "" {
		t.Errorf("anonymous root catalog mismatch (-want +got):\n%s", diff)
	}
	var regs registriesResponse
	a.get(t, "/api/v1/registries").json(t, &regs)
	if len(regs.Registries) != 1 || regs.Registries[0].Name != "dist" {
		t.Errorf("anonymous GET /api/v1/registries = %+v, want dist only", regs.Registries)
	}
}
