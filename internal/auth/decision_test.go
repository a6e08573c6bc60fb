package auth

import (
	"net/http"
	"net/url"
	"testing"
)

func TestDecisionsOverHTTP(t *testing.T) {
	type row struct {
		secret         string // "" sends no Authorization
		op             string
		registry, repo string
		want           int
	}
	const ok, unauth, denied = http.StatusOK, http.StatusUnauthorized, http.StatusForbidden
	common := []row{
		// reader: pull library/* on hub.
		{readerSecret, "pull", "hub", "library/alpine", ok},
		{readerSecret, "pull", "hub", "library/alpine/edge", denied}, // * is one component
		{readerSecret, "pull", "hub", "other/alpine", denied},
		{readerSecret, "pull", "internal", "library/alpine", denied}, // registry mismatch
		{readerSecret, "push", "hub", "library/alpine", denied},
		{readerSecret, "admin", "hub", "library/alpine", denied},
		{readerSecret, "list", "hub", "", ok}, // root catalog: library/* is under it
		{readerSecret, "list", "hub", "library", ok},
		{readerSecret, "list", "hub", "other", denied},
		{readerSecret, "list", "internal", "", denied},
		{readerSecret, "purge", "hub", "library", denied},
		// ci: push team/** on internal (push implies pull), pull **/cache on hub.
		{ciSecret, "push", "internal", "team", ok},
		{ciSecret, "push", "internal", "team/app", ok},
		{ciSecret, "push", "internal", "team/app/sub/deep", ok},
		{ciSecret, "pull", "internal", "team/app", ok},
		{ciSecret, "push", "internal", "teams/app", denied},
		{ciSecret, "push", "hub", "team/app", denied},
		{ciSecret, "admin", "internal", "team/app", denied},
		{ciSecret, "pull", "hub", "cache", ok},
		{ciSecret, "pull", "hub", "x/y/cache", ok},
		{ciSecret, "push", "hub", "x/y/cache", denied},
		{ciSecret, "pull", "hub", "x/cache/y", denied},
		{ciSecret, "list", "hub", "x/y", ok}, // x/y/cache may be there
		{ciSecret, "list", "internal", "", ok},
		{ciSecret, "list", "internal", "other", denied},
		{ciSecret, "purge", "internal", "team", denied}, // push is not admin
		// ops: admin everywhere, implying push and pull.
		{opsSecret, "admin", "hub", "library/alpine", ok},
		{opsSecret, "push", "internal", "any/thing", ok},
		{opsSecret, "pull", "elsewhere", "x", ok},
		{opsSecret, "purge", "", "", ok}, // the whole cache
		{opsSecret, "purge", "hub", "", ok},
		{opsSecret, "purge", "hub", "library", ok},
		{opsSecret, "list", "hub", "", ok},
		// nested: pull a/*/c/** on internal.
		{nestedSecret, "pull", "internal", "a/b/c", ok},
		{nestedSecret, "pull", "internal", "a/b/c/d/e", ok},
		{nestedSecret, "pull", "internal", "a/b/d", denied},
		{nestedSecret, "pull", "internal", "a/b/x/c", denied},
		{nestedSecret, "list", "internal", "", ok},
		{nestedSecret, "list", "internal", "a", ok},
		{nestedSecret, "list", "internal", "a/b", ok},
		{nestedSecret, "list", "internal", "a/b/d", denied},
		{nestedSecret, "list", "internal", "b", denied},
		// root: pull top-level names only.
		{rootSecret, "pull", "internal", "alpine", ok},
		{rootSecret, "pull", "internal", "team/app", denied},
		{rootSecret, "list", "internal", "", ok},
		{rootSecret, "list", "internal", "team", ok}, // "team" itself is pullable
		{rootSecret, "list", "internal", "team/app", denied},
		{rootSecret, "purge", "internal", "", denied},
		// A wrong token is 401 whatever else holds; so is an unknown action.
		{"wrong-0123456789abcdef", "pull", "hub", "library/alpine", unauth},
		{readerSecret, "delete", "hub", "library/alpine", denied},
	}
	anonOff := []row{
		{"", "pull", "hub", "library/alpine", unauth},
		{"", "list", "hub", "", unauth},
	}
	anonOn := []row{
		{"", "pull", "hub", "library/alpine", ok},
		{"", "pull", "internal", "a/b/c", ok},
		{"", "list", "hub", "", ok},
		{"", "push", "hub", "library/alpine", unauth}, // never anonymous: ask for a token
		{"", "admin", "hub", "library/alpine", unauth},
		{"", "purge", "", "", unauth},
		{"wrong-0123456789abcdef", "pull", "hub", "library/alpine", unauth},
	}
	for _, anonymous := range []bool{false, true} {
		rows := append(append([]row{}, common...), anonOff...)
		if anonymous {
			rows = append(append([]row{}, common...), anonOn...)
		}
		srv := decisionServer(t, newTestAuthorizer(t, anonymous))
		for _, tt := range rows {
			q := url.Values{"op": {tt.op}, "registry": {tt.registry}, "repo": {tt.repo}}
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/check?"+q.Encode(), nil)
			if err != nil {
				t.Fatal(err)
			}
			who := "no token"
			if tt.secret != "" {
				req.Header.Set("Authorization", "Bearer "+tt.secret)
				who = tt.secret[:len(tt.secret)-17] // the token's name part, for messages
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("anonymous=%t %s %s %s/%s = %d, want %d", anonymous, who, tt.op, tt.registry, tt.repo, resp.StatusCode, tt.want)
			}
			if got := resp.Header.Get("WWW-Authenticate"); (resp.StatusCode == unauth) != (got == Challenge) {
				t.Errorf("anonymous=%t %s %s %s/%s: WWW-Authenticate = %q with status %d", anonymous, who, tt.op, tt.registry, tt.repo, got, resp.StatusCode)
			}
		}
	}
}
