package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/regapi/regapi/internal/cache/redistest"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// narrowToken may pull a/**, c/** and e/** of upstream "hub" only.
const narrowToken = "narrow-token-0123456789abcdef"

// hiddenRun is a little more than the names one listing request reads
// upstream (handlers' budget: ten pages of 1000).
const hiddenRun = 10_050

// cursorRegistry is a distribution registry whose catalog holds, between
// two names the narrow token may pull and two more, a run of names hidden
// from it longer than one listing request reads (ten thousand): the page
// after the run's start is answered with a sealed cursor.
type cursorRegistry struct {
	dist    *registrytest.Registry
	cfg     string
	visible []string
	c       *http.Client
}

func newCursorRegistry(t *testing.T) *cursorRegistry {
	t.Helper()
	r := &cursorRegistry{visible: []string{"a/one", "a/two", "c/x", "e/last"}, c: &http.Client{Timeout: 30 * time.Second}}
	names := slices.Clone(r.visible)
	for i := range hiddenRun {
		names = append(names, fmt.Sprintf("b/hidden%05d", i))
	}
	r.dist = registrytest.StartDistribution(t, &registrytest.DistributionOptions{EmptyRepositories: names})
	r.cfg = filepath.Join(t.TempDir(), "regapi.yaml")
	cfg := `tokens: [{name: narrow, secret_env: REGAPI_TOKEN_NARROW, scopes: [{registry: hub, repositories: ["a/**", "c/**", "e/**"], actions: [pull]}]}]` + "\n"
	if err := os.WriteFile(r.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// start starts a replica in front of the registry, logging everything.
func (r *cursorRegistry) start(t *testing.T, args ...string) *running {
	t.Helper()
	return startRun(t, map[string]string{"REGAPI_TOKEN_NARROW": narrowToken}, append([]string{
		"--listen", "127.0.0.1:0", "--config", r.cfg, "--upstream", "hub=http://" + r.dist.Host,
		"--log-level", "debug", "--log-flush-interval", "0",
	}, args...)...)
}

// listPage is one page of a listing: the path asked and what it answered.
type listPage struct {
	path  string
	names []string
	next  string
}

// get asks replica rep for path as the narrow caller; it returns the status
// and, for a 200, the page.
func (r *cursorRegistry) get(t *testing.T, rep *running, path string) (int, listPage, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rep.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+narrowToken)
	res, err := r.c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := listPage{path: path}
	if res.StatusCode == http.StatusOK {
		var v struct {
			Repositories []string `json:"repositories"`
			Next         string   `json:"next"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("GET %s: %s: %v", path, b, err)
		}
		p.names, p.next = v.Repositories, v.Next
	}
	return res.StatusCode, p, b
}

// walk pages from first to the end, page i asked of replicas[i%len]; it
// fails the test on any answer but 200.
func (r *cursorRegistry) walk(t *testing.T, replicas []*running, first string) []listPage {
	t.Helper()
	var pages []listPage
	for next := first; next != ""; {
		if len(pages) > 100 {
			t.Fatalf("more than 100 pages from %s", first)
		}
		status, p, body := r.get(t, replicas[len(pages)%len(replicas)], next)
		if status != http.StatusOK {
			t.Fatalf("page %d, GET %s of replica %d = %d %s", len(pages), next, len(pages)%len(replicas), status, body)
		}
		pages = append(pages, p)
		next = p.next
	}
	return pages
}

// crossWalk lists everything the narrow caller sees twice, each page asked
// of the other replica than the one before: a, b, a… then b, a, b…, so
// that a cursor one replica sealed is opened by the other, both ways. It
// returns the pages of the first walk and the first of them asked with a
// sealed cursor.
func (r *cursorRegistry) crossWalk(t *testing.T, a, b *running) ([]listPage, int) {
	t.Helper()
	var first []listPage
	for _, order := range [][]*running{{a, b}, {b, a}} {
		pages := r.walk(t, order, listFirst)
		if got := namesFrom(pages, 0); !slices.Equal(got, r.visible) {
			t.Fatalf("listing over both replicas = %q, want %q", got, r.visible)
		}
		firstSealed(t, pages)
		if first == nil {
			first = pages
		}
	}
	return first, firstSealed(t, first)
}

// namesFrom returns the names of pages[i:].
func namesFrom(pages []listPage, i int) []string {
	var names []string
	for _, p := range pages[i:] {
		names = append(names, p.names...)
	}
	return names
}

// firstSealed returns the index of the first page asked with a sealed
// cursor; it fails the test when there is none.
func firstSealed(t *testing.T, pages []listPage) int {
	t.Helper()
	for i, p := range pages {
		if strings.HasPrefix(mustQuery(t, p.path).Get("last"), "~") {
			return i
		}
	}
	t.Fatalf("none of %d pages was asked with a sealed cursor", len(pages))
	return 0
}

// tampered changes one base64url character in the middle of path's sealed
// last, so that it still decodes and only the seal can tell.
func tampered(t *testing.T, path string) string {
	t.Helper()
	u, err := url.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	b := []byte(q.Get("last"))
	if b[len(b)/2] == 'A' {
		b[len(b)/2] = 'B'
	} else {
		b[len(b)/2] = 'A'
	}
	q.Set("last", string(b))
	u.RawQuery = q.Encode()
	return u.String()
}

// wantPaginationInvalid fails unless status and body are a 400 PAGINATION_INVALID.
func wantPaginationInvalid(t *testing.T, what string, status int, body []byte) {
	t.Helper()
	if status != http.StatusBadRequest || !strings.Contains(string(body), `"PAGINATION_INVALID"`) {
		t.Errorf("%s = %d %s, want 400 PAGINATION_INVALID", what, status, body)
	}
}

// checkKeyNotLogged fails when a replica's log holds key, raw, in hex or in
// base64.
func checkKeyNotLogged(t *testing.T, key []byte, replicas ...*running) {
	t.Helper()
	forms := []string{string(key), hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key)}
	for i, rep := range replicas {
		logs := rep.stderr.String()
		if !strings.Contains(logs, "listing cursors") {
			t.Fatalf("replica %d logged nothing about listing cursors; the check proves nothing:\n%s", i, logs)
		}
		for _, f := range forms {
			if strings.Contains(logs, f) {
				t.Fatalf("replica %d logged the cursor key", i)
			}
		}
	}
}

const listFirst = "/api/v1/repos/hub/-/repositories?limit=2"

// TestFleetCursorSharedTier: two replicas over one Redis agree on the
// cursor key: a listing whose pages alternate between them, sealed cursors
// included, yields every visible name once. An altered cursor is refused
// by both, and the key is in no log line.
func TestFleetCursorSharedTier(t *testing.T) {
	reg := newCursorRegistry(t)
	rs := redistest.Start(t)
	a, b := reg.start(t, "--cache-shared-url", rs.URL), reg.start(t, "--cache-shared-url", rs.URL)

	pages, sealed := reg.crossWalk(t, a, b)
	for i, rep := range []*running{a, b} {
		status, _, body := reg.get(t, rep, tampered(t, pages[sealed].path))
		wantPaginationInvalid(t, fmt.Sprintf("replica %d, an altered cursor", i), status, body)
	}

	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, DisableIdentity: true})
	defer func() { _ = rdb.Close() }() // a loopback client of the test's server
	key, err := rdb.Get(t.Context(), "regapi:v1:s:cursor-key").Bytes()
	if err != nil || len(key) != 32 {
		t.Fatalf("the cursor key in Redis: %d bytes, %v; want 32", len(key), err)
	}
	checkKeyNotLogged(t, key, a, b)
}

// TestFleetCursorKeyFile: replicas given one key file, and no Redis, accept
// each other's cursors, and a replica restarted with the file accepts a
// cursor sealed before the restart. The file's content is in no log line.
func TestFleetCursorKeyFile(t *testing.T) {
	reg := newCursorRegistry(t)
	secret := make([]byte, 48)
	_, _ = rand.Read(secret)
	key := base64.StdEncoding.EncodeToString(secret)
	file := filepath.Join(t.TempDir(), "cursor.key")
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, b := reg.start(t, "--cursor-key-file", file), reg.start(t, "--cursor-key-file", file)

	pages, sealed := reg.crossWalk(t, a, b)
	status, _, body := reg.get(t, b, tampered(t, pages[sealed].path))
	wantPaginationInvalid(t, "an altered cursor", status, body)

	if _, err := a.stop(t, 30*time.Second); err != nil {
		t.Fatalf("stop replica a: %v", err)
	}
	again := reg.start(t, "--cursor-key-file", file)
	rest := reg.walk(t, []*running{again}, pages[sealed].path)
	if got, want := namesFrom(rest, 0), namesFrom(pages, sealed); !slices.Equal(got, want) {
		t.Errorf("the restarted replica, from a cursor sealed before: %q, want %q", got, want)
	}
	checkKeyNotLogged(t, []byte(key), a, b, again)
}

// TestFleetCursorPerProcess documents the fallback: without a key file or
// Redis each replica seals with a key of its own, so a cursor replica a
// sealed is refused by replica b, while a still accepts it.
func TestFleetCursorPerProcess(t *testing.T) {
	reg := newCursorRegistry(t)
	a, b := reg.start(t), reg.start(t)

	pages := reg.walk(t, []*running{a}, listFirst)
	if got := namesFrom(pages, 0); !slices.Equal(got, reg.visible) {
		t.Fatalf("listing on replica a = %q, want %q", got, reg.visible)
	}
	sealed := firstSealed(t, pages)
	path := pages[sealed].path
	status, _, body := reg.get(t, b, path)
	wantPaginationInvalid(t, "replica b, a cursor replica a sealed", status, body)
	if status, _, body := reg.get(t, a, path); status != http.StatusOK {
		t.Errorf("replica a, its own cursor = %d %s, want 200", status, body)
	}
	for i, rep := range []*running{a, b} {
		if logs := rep.stderr.String(); !strings.Contains(logs, `"key_source":"process"`) {
			t.Errorf("replica %d does not log that its cursor key is its own:\n%s", i, logs)
		}
	}
}

// TestFleetCursorRedisDownAtStart: replicas that start with Redis down seal
// with keys of their own (a warning, once), and agree on one key once Redis
// is back, without a restart; a replica still accepts what it sealed while
// Redis was down.
func TestFleetCursorRedisDownAtStart(t *testing.T) {
	reg := newCursorRegistry(t)
	rs := redistest.Start(t)
	rs.Stop()
	a, b := reg.start(t, "--cache-shared-url", rs.URL), reg.start(t, "--cache-shared-url", rs.URL)

	pages := reg.walk(t, []*running{a}, listFirst)
	sealed := firstSealed(t, pages)
	during := pages[sealed].path
	status, _, body := reg.get(t, b, during)
	wantPaginationInvalid(t, "Redis down: replica b, a cursor replica a sealed", status, body)

	rs.Restart()
	// Each round, replica a seals a cursor and replica b opens it; both
	// ask Redis at most once a second, so a few rounds are needed.
	deadline := time.Now().Add(20 * time.Second)
	for rounds := 1; ; rounds++ {
		_, p, body := reg.get(t, a, pages[sealed-1].path)
		if !strings.HasPrefix(mustQuery(t, p.next).Get("last"), "~") {
			t.Fatalf("page %s: next %q is not sealed (%s)", pages[sealed-1].path, p.next, body)
		}
		if status, _, _ := reg.get(t, b, p.next); status == http.StatusOK {
			t.Logf("replica b opened replica a's cursor after %d rounds", rounds)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replicas a and b do not agree on a cursor key after Redis came back")
		}
	}
	if status, _, body := reg.get(t, a, during); status != http.StatusOK {
		t.Errorf("replica a, a cursor it sealed while Redis was down = %d %s, want 200", status, body)
	}
	if n := strings.Count(a.stderr.String(), "did not answer for the deployment's key"); n != 1 {
		t.Errorf("replica a warned %d times that Redis did not answer, want once", n)
	}
}

func mustQuery(t *testing.T, path string) url.Values {
	t.Helper()
	u, err := url.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
