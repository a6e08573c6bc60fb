package handlers

import (
	"fmt"
	"strings"
	"testing"
)

// A repository's client is built once and then shared; other repositories
// and registries get their own; the number kept is bounded.
func TestScopedClients(t *testing.T) {
	s := newScopedClients(nil)
	up := Upstream{Name: "a", Client: clientFor("127.0.0.1:1", nil)}
	other := Upstream{Name: "b", Client: clientFor("127.0.0.1:2", nil)}
	built := 0
	seg := func(repo string) func() []string {
		return func() []string { built++; return strings.Split(repo, "/") }
	}

	c1 := s.get(up, "team/app", seg("team/app"))
	c2 := s.get(up, "team/app", seg("team/app"))
	if c1 != c2 || built != 1 {
		t.Fatalf("two gets of one repository built %d clients (same: %v), want 1", built, c1 == c2)
	}
	if got := c1.GetRegistry(); got != "127.0.0.1:1/team/app" {
		t.Errorf("scoped client's registry = %q", got)
	}
	if c := s.get(up, "team/web", seg("team/web")); c == c1 || c.GetRegistry() != "127.0.0.1:1/team/web" {
		t.Errorf("another repository got %q", c.GetRegistry())
	}
	if c := s.get(other, "team/app", seg("team/app")); c == c1 || c.GetRegistry() != "127.0.0.1:2/team/app" {
		t.Errorf("another registry's repository got %q", c.GetRegistry())
	}

	for i := range 3 * scopedEntries {
		repo := fmt.Sprint("r", i)
		s.get(up, repo, seg(repo))
	}
	if n := s.lru.Len(); n != scopedEntries {
		t.Errorf("kept %d clients, want the bound %d", n, scopedEntries)
	}

	var none *scopedClients
	if c := none.get(up, "team/app", seg("team/app")); c.GetRegistry() != "127.0.0.1:1/team/app" {
		t.Errorf("nil scopedClients built %q", c.GetRegistry())
	}
}
