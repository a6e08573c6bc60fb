package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/registry"
)

// fakeUpstream is an in-memory registry behind fakeClient. It counts every
// call and runs hook first, so that a test can hold a call on a channel, fail
// it or make it panic. It is the stand-in for faults and for counting; the
// real-registry test is in real_test.go.
type fakeUpstream struct {
	host string

	mu      sync.Mutex
	calls   []string // "Op path arg"
	repos   map[string]*fakeRepo
	configs map[string][]byte // image manifest digest -> config blob
	hook    func(ctx context.Context, call string) error
}

type fakeRepo struct {
	tags      map[string]string // tag -> digest
	manifests map[string]registry.ManifestResult
}

func newFakeUpstream() *fakeUpstream {
	return &fakeUpstream{host: "registry.test", repos: map[string]*fakeRepo{}, configs: map[string][]byte{}}
}

// setHook replaces the hook; nil removes it.
func (u *fakeUpstream) setHook(h func(ctx context.Context, call string) error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.hook = h
}

// count returns how many calls start with prefix ("GetManifest org/app").
func (u *fakeUpstream) count(prefix string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, c := range u.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func (u *fakeUpstream) enter(ctx context.Context, call string) error {
	u.mu.Lock()
	u.calls = append(u.calls, call)
	h := u.hook
	u.mu.Unlock()
	if h != nil {
		return h(ctx, call)
	}
	return nil
}

func (u *fakeUpstream) repo(path string) *fakeRepo {
	r := u.repos[path]
	if r == nil {
		r = &fakeRepo{tags: map[string]string{}, manifests: map[string]registry.ManifestResult{}}
		u.repos[path] = r
	}
	return r
}

// addImage stores an image whose config blob is cfg under path:tag and
// returns its manifest digest.
func (u *fakeUpstream) addImage(t testing.TB, path, tag string, cfg []byte) string {
	t.Helper()
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(cfg)), Digest: sha(cfg)},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal manifest: %v", err)
	}
	d := sha(raw)
	u.mu.Lock()
	defer u.mu.Unlock()
	r := u.repo(path)
	r.manifests[d.String()] = registry.NewManifestResult(raw, types.OCIManifestSchema1, d)
	if tag != "" {
		r.tags[tag] = d.String()
	}
	u.configs[d.String()] = cfg
	return d.String()
}

// addIndex stores an index of the given children (digests already added to
// path) under path:tag and returns its digest.
func (u *fakeUpstream) addIndex(t testing.TB, path, tag string, children map[string]v1.Platform) string {
	t.Helper()
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	digests := slices.Sorted(maps.Keys(children))
	for _, d := range digests {
		p := children[d]
		h, err := v1.NewHash(d)
		if err != nil {
			t.Fatalf("NewHash(%q): %v", d, err)
		}
		idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Platform: &p})
	}
	raw, err := json.Marshal(idx)
	if err != nil {
		t.Fatalf("marshal index: %v", err)
	}
	d := sha(raw)
	u.mu.Lock()
	defer u.mu.Unlock()
	r := u.repo(path)
	r.manifests[d.String()] = registry.NewManifestResult(raw, types.OCIImageIndex, d)
	r.tags[tag] = d.String()
	return d.String()
}

func sha(b []byte) v1.Hash {
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		panic(err)
	}
	return h
}

// fakeClock is a clock that only moves when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
