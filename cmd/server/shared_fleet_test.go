package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/regapi/regapi/internal/cache/redistest"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// fleetToken may push to and purge upstream "hub".
const fleetToken = "fleet-token-0123456789abcdef"

// fleet is regapi replicas as run wires them, sharing one real redis-server
// and one CNCF distribution registry.
type fleet struct {
	dist     *registrytest.Registry
	redis    *redistest.Server
	cfg      string
	replicas []*running
	c        *http.Client
}

func newFleet(t *testing.T, n int) *fleet { return newFleetWith(t, n, "") }

// newFleetWith starts n replicas with extra lines in their configuration.
func newFleetWith(t *testing.T, n int, extra string) *fleet {
	t.Helper()
	f := &fleet{dist: registrytest.StartDistribution(t, nil), redis: redistest.Start(t), c: &http.Client{Timeout: 30 * time.Second}}
	f.cfg = filepath.Join(t.TempDir(), "regapi.yaml")
	cfg := `tokens: [{name: ops, secret_env: REGAPI_TOKEN_OPS, scopes: [{registry: hub, repositories: ["**"], actions: [push, admin]}]}]` + "\n" + extra
	if err := os.WriteFile(f.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for range n {
		f.start(t)
	}
	return f
}

// start starts one more replica and returns its index.
func (f *fleet) start(t *testing.T) int {
	t.Helper()
	r := startRun(t, map[string]string{"REGAPI_TOKEN_OPS": fleetToken},
		"--listen", "127.0.0.1:0", "--allow-anonymous", "--config", f.cfg, "--log-level", "warn",
		"--upstream", "hub=http://"+f.dist.Host, "--cache-shared-url", f.redis.URL)
	f.replicas = append(f.replicas, r)
	return len(f.replicas) - 1
}

// fleetAnswer is one response.
type fleetAnswer struct {
	status      int
	body        []byte
	cache, tier string
}

// do sends a request to replica i; it returns an error rather than failing
// the test, so that goroutines can call it.
func (f *fleet) do(i int, method, path string, body []byte) (fleetAnswer, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, f.replicas[i].base+path, bytes.NewReader(body))
	if err != nil {
		return fleetAnswer{}, err
	}
	if method != http.MethodGet {
		req.Header.Set("Authorization", "Bearer "+fleetToken)
	}
	res, err := f.c.Do(req)
	if err != nil {
		return fleetAnswer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return fleetAnswer{status: res.StatusCode, body: b, cache: res.Header.Get("X-Cache"), tier: res.Header.Get("X-Cache-Tier")}, err
}

func (f *fleet) get(t *testing.T, i int, path string) fleetAnswer {
	t.Helper()
	a, err := f.do(i, http.MethodGet, path, nil)
	if err != nil {
		t.Fatalf("replica %d: GET %s: %v", i, path, err)
	}
	if a.status != http.StatusOK {
		t.Fatalf("replica %d: GET %s = %d %s", i, path, a.status, a.body)
	}
	return a
}

func (f *fleet) tags(t *testing.T, i int, repo string) ([]string, fleetAnswer) {
	t.Helper()
	a := f.get(t, i, "/api/v1/repos/hub/"+repo+"/-/tags")
	var v struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("tags body %s: %v", a.body, err)
	}
	return v.Tags, a
}

// metric sums the samples of a metric family on replica i's /metrics.
func (f *fleet) metric(t *testing.T, i int, name string) int {
	t.Helper()
	a := f.get(t, i, "/metrics")
	n := 0.0
	sc := bufio.NewScanner(bytes.NewReader(a.body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		n += v
	}
	return int(n)
}

func TestFleetTagListIsASharedHitElsewhere(t *testing.T) {
	f := newFleet(t, 3)
	registrytest.PushRandomImage(t, f.dist.Host, "team/app", "v1")
	f.dist.ResetRequests()

	if _, a := f.tags(t, 0, "team/app"); a.cache != "MISS" {
		t.Fatalf("replica 0: X-Cache %q, want MISS", a.cache)
	}
	for i := 1; i < 3; i++ {
		tags, a := f.tags(t, i, "team/app")
		if a.cache != "HIT" || a.tier != "shared" || !slices.Equal(tags, []string{"v1"}) {
			t.Fatalf("replica %d: %v X-Cache %q X-Cache-Tier %q, want [v1] HIT shared", i, tags, a.cache, a.tier)
		}
	}
	if _, a := f.tags(t, 1, "team/app"); a.cache != "HIT" || a.tier != "memory" {
		t.Fatalf("replica 1 again: X-Cache %q X-Cache-Tier %q, want HIT memory", a.cache, a.tier)
	}
	if n := f.dist.CountRequests(http.MethodGet, "/v2/team/app/tags/list"); n != 1 {
		t.Fatalf("registry tag list requests = %d, want 1", n)
	}
}

// 200 concurrent identical cold requests over three replicas make one
// upstream request: coalesced within each replica, leased across them.
//
// The property holds while Redis answers within the tier's timeout; a call
// that times out makes a replica fetch itself, as it should. Under -race
// on a busy machine 50 ms is not always enough, so this fleet allows more,
// and each replica has its connection to Redis before the burst.
func TestFleetColdBurstMakesOneUpstreamRequest(t *testing.T) {
	f := newFleetWith(t, 3, "cache: {shared: {timeout: 2s}}\n")
	registrytest.PushRandomImage(t, f.dist.Host, "team/app", "v1")
	registrytest.PushRandomImage(t, f.dist.Host, "team/warm", "v1")
	for i := range 3 {
		f.tags(t, i, "team/warm")
	}
	f.dist.ResetRequests()
	start := time.Now()

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for n := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := f.do(n%3, http.MethodGet, "/api/v1/repos/hub/team/app/-/tags", nil)
			if err == nil && (a.status != http.StatusOK || !bytes.Contains(a.body, []byte(`"v1"`))) {
				err = fmt.Errorf("replica %d: %d %s", n%3, a.status, a.body)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("200 requests in %s", time.Since(start))
	if n := f.dist.CountRequests(http.MethodGet, "/v2/team/app/tags/list"); n != 1 {
		for i := range 3 {
			t.Logf("replica %d: shared errors %d, leases %d, hits %d", i, f.metric(t, i, "regapi_cache_shared_errors_total"),
				f.metric(t, i, "regapi_cache_shared_leases_total"), f.metric(t, i, "regapi_cache_shared_hits_total"))
		}
		t.Fatalf("registry tag list requests = %d (%q), want 1", n, f.dist.Requests())
	}
}

// A copy (a write) through one replica shows in a tag list read through
// another right after it.
func TestFleetWriteIsVisibleOnEveryReplica(t *testing.T) {
	f := newFleet(t, 3)
	registrytest.PushRandomImage(t, f.dist.Host, "team/app", "v1")
	registrytest.PushRandomImage(t, f.dist.Host, "team/src", "v9")
	for i := range 3 {
		f.tags(t, i, "team/app")
	}
	a, err := f.do(0, http.MethodPost, "/api/v1/copy", []byte(`{"source":"hub/team/src:v9","destination":"hub/team/app:v2"}`))
	if err != nil || a.status != http.StatusOK {
		t.Fatalf("copy = %d %s, %v", a.status, a.body, err)
	}
	for i := range 3 {
		if tags, _ := f.tags(t, i, "team/app"); !slices.Equal(tags, []string{"v1", "v2"}) {
			t.Fatalf("replica %d after the copy: tags %v, want [v1 v2]", i, tags)
		}
	}
}

func TestFleetPurgeEmptiesEveryReplica(t *testing.T) {
	f := newFleet(t, 2)
	registrytest.PushRandomImage(t, f.dist.Host, "team/app", "v1")
	f.tags(t, 0, "team/app")
	f.tags(t, 1, "team/app")
	a, err := f.do(0, http.MethodDelete, "/api/v1/cache?prefix=hub", nil)
	if err != nil || a.status != http.StatusOK {
		t.Fatalf("purge = %d %s, %v", a.status, a.body, err)
	}
	// Replica 1 held the list in memory and Redis had it: both are gone.
	if _, a := f.tags(t, 1, "team/app"); a.cache != "MISS" {
		t.Fatalf("replica 1 after the purge: X-Cache %q %q, want MISS", a.cache, a.tier)
	}
}

// A value planted in Redis that does not hash to its digest is dropped and
// the registry's answer served.
func TestFleetCorruptValueIsNeverServed(t *testing.T) {
	f := newFleet(t, 2)
	img := registrytest.PushRandomImage(t, f.dist.Host, "team/app", "v1")
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/repos/hub/team/app/-/manifests/" + d.String()
	f.get(t, 0, path)

	rdb := redis.NewClient(&redis.Options{Addr: f.redis.Addr, DisableIdentity: true})
	defer func() {
		if err := rdb.Close(); err != nil {
			t.Error(err)
		}
	}()
	ctx := context.Background()
	key := "regapi:v1:e:hub/team/app\x00m\x00" + d.String()
	v, err := rdb.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatalf("manifest not in Redis under %q: %v", key, err)
	}
	bad := bytes.Replace(v, []byte(`"config"`), []byte(`"CONFIG"`), 1)
	if bytes.Equal(bad, v) {
		t.Fatal("nothing to corrupt")
	}
	if err := rdb.Set(ctx, key, bad, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	a := f.get(t, 1, path)
	if bytes.Contains(a.body, []byte("CONFIG")) {
		t.Fatalf("served the manifest planted in Redis, which does not hash to %s: %s", d, a.body)
	}
	if a.cache != "MISS" {
		t.Fatalf("X-Cache %q %q, want MISS (refetched)", a.cache, a.tier)
	}
	if n := f.metric(t, 1, "regapi_cache_shared_rejected_total"); n != 1 {
		t.Fatalf("rejected = %d, want 1", n)
	}
}

// With Redis stopped every request still answers, quickly, and errors are
// counted; once it is back it is used again, without a restart.
func TestFleetRedisDownAndBack(t *testing.T) {
	f := newFleet(t, 2)
	registrytest.PushRandomImage(t, f.dist.Host, "team/app", "v1")
	registrytest.PushRandomImage(t, f.dist.Host, "team/other", "v1")
	f.tags(t, 0, "team/app")
	f.redis.Stop()

	for _, repo := range []string{"team/app", "team/other"} {
		for i := range 2 {
			start := time.Now()
			tags, _ := f.tags(t, i, repo)
			if took := time.Since(start); took > 5*time.Second || !slices.Equal(tags, []string{"v1"}) {
				t.Fatalf("replica %d %s with Redis down: %v after %s", i, repo, tags, took)
			}
		}
	}
	if n := f.metric(t, 1, "regapi_cache_shared_errors_total"); n == 0 {
		t.Fatal("no shared-tier errors counted with Redis down")
	}
	if a := f.get(t, 0, "/readyz"); a.status != http.StatusOK {
		t.Fatalf("/readyz with Redis down = %d", a.status)
	}

	f.redis.Restart()
	deadline := time.Now().Add(15 * time.Second)
	for {
		// The purge empties both replicas (and Redis, once reachable);
		// replica 0 then fills Redis, and replica 1 should read it there.
		_, _ = f.do(0, http.MethodDelete, "/api/v1/cache?prefix=hub/team/app", nil) // may fail while Redis comes back: the loop retries
		f.tags(t, 0, "team/app")
		if _, a := f.tags(t, 1, "team/app"); a.tier == "shared" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shared tier is not used again after Redis came back")
		}
	}
}

// A replica started against a warm Redis answers digest-addressed reads
// without asking the registry.
func TestFleetWarmRestart(t *testing.T) {
	f := newFleet(t, 1)
	img := registrytest.PushRandomImage(t, f.dist.Host, "team/app", "v1")
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{
		"/api/v1/repos/hub/team/app/-/manifests/" + d.String(),
		"/api/v1/repos/hub/team/app/-/config/" + d.String(),
	}
	for _, p := range paths {
		f.get(t, 0, p)
	}
	if _, err := f.replicas[0].stop(t, 30*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	f.dist.ResetRequests()
	i := f.start(t)
	for _, p := range paths {
		if a := f.get(t, i, p); a.cache != "HIT" || a.tier != "shared" {
			t.Fatalf("restarted replica %s: X-Cache %q %q, want HIT shared", p, a.cache, a.tier)
		}
	}
	if got := f.dist.Requests(); len(got) != 0 {
		t.Fatalf("registry requests after the restart = %q, want none", got)
	}
}

// TestFleetFileIndexIsShared: a file index one replica builds (by a listing
// that walks every layer) is read by another from the shared tier, so its
// first listing of the image downloads no layer.
func TestFleetFileIndexIsShared(t *testing.T) {
	f := newFleet(t, 2)
	img := registrytest.PushRandomImage(t, f.dist.Host, "team/files", "v1")
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	layerGets := func() int {
		n := 0
		for _, l := range layers {
			d, err := l.Digest()
			if err != nil {
				t.Fatal(err)
			}
			n += f.dist.CountRequests(http.MethodGet, "/v2/team/files/blobs/"+d.String())
		}
		return n
	}
	first := f.get(t, 0, "/api/v1/repos/hub/team/files/-/files/v1/")
	built := layerGets()
	if built == 0 {
		t.Fatal("the first listing read no layer; the count proves nothing")
	}
	second := f.get(t, 1, "/api/v1/repos/hub/team/files/-/files/v1/")
	if n := layerGets() - built; n != 0 {
		t.Errorf("replica 1's first listing made %d layer GETs, want 0 (the index from the shared tier)", n)
	}
	if !bytes.Equal(first.body, second.body) {
		t.Errorf("the listings differ:\n%s\n%s", first.body, second.body)
	}
}
