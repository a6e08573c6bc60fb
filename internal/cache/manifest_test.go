package cache

import (
	"context"
	"errors"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
)

// indexFixture holds org/app:multi, an index of an amd64 and an arm64 image.
type indexFixture struct {
	*fixture
	app                  registry.Client
	index, amd64, arm64  string
	amd64Cfg, arm64Cfg   string
	amd64Plat, arm64Plat v1.Platform
}

func newIndexFixture(t *testing.T, opts ...Option) *indexFixture {
	t.Helper()
	f := &indexFixture{fixture: newFixture(t, opts...),
		amd64Plat: v1.Platform{OS: "linux", Architecture: "amd64"},
		arm64Plat: v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
		amd64Cfg:  `{"architecture":"amd64","os":"linux"}`,
		arm64Cfg:  `{"architecture":"arm64","os":"linux"}`,
	}
	f.amd64 = f.up.addImage(t, "org/app", "", []byte(f.amd64Cfg))
	f.arm64 = f.up.addImage(t, "org/app", "", []byte(f.arm64Cfg))
	f.index = f.up.addIndex(t, "org/app", "multi", map[string]v1.Platform{f.amd64: f.amd64Plat, f.arm64: f.arm64Plat})
	f.app = f.hub.WithSegment("org", "app")
	return f
}

// calls returns the upstream calls made by fn.
func (f *indexFixture) calls(fn func()) int {
	before := f.up.count("")
	fn()
	return f.up.count("") - before
}

func TestGetManifest(t *testing.T) {
	f := newIndexFixture(t, WithTagTTL(30*time.Second))
	get := func(ref string, opts ...registry.ImageGetOption) (registry.ManifestResult, Status) {
		t.Helper()
		var m registry.ManifestResult
		var err error
		status, _ := outcomeOf(t.Context(), func(ctx context.Context) { m, err = f.app.GetManifest(ctx, ref, opts...) })
		if err != nil {
			t.Fatalf("GetManifest(%s, %v) error = %v", ref, opts, err)
		}
		return m, status
	}
	arm := registry.WithPlatform{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}
	steps := []struct {
		name       string
		advance    time.Duration
		ref        string
		opts       []registry.ImageGetOption
		wantDigest string
		wantStatus Status
		wantCalls  int
	}{
		{name: "tag, cold: one GET", ref: "multi", wantDigest: f.index, wantStatus: StatusMiss, wantCalls: 1},
		{name: "tag, warm", ref: "multi", wantDigest: f.index, wantStatus: StatusHit},
		{name: "by digest, held", ref: "@" + f.index, wantDigest: f.index, wantStatus: StatusHit},
		{name: "platform picked from the cached index", ref: "multi", opts: []registry.ImageGetOption{arm}, wantDigest: f.arm64, wantStatus: StatusMiss, wantCalls: 1},
		{name: "platform, warm", ref: "multi", opts: []registry.ImageGetOption{arm}, wantDigest: f.arm64, wantStatus: StatusHit},
		{name: "a nil platform is no platform", ref: "multi", opts: []registry.ImageGetOption{registry.WithPlatform{}}, wantDigest: f.index, wantStatus: StatusHit},
		{name: "a partial platform matches", ref: "multi", opts: []registry.ImageGetOption{registry.WithPlatform{Platform: &v1.Platform{Architecture: "amd64"}}}, wantDigest: f.amd64, wantStatus: StatusMiss, wantCalls: 1},
		{name: "tag expired: revalidated with a HEAD", advance: 30 * time.Second, ref: "multi", wantDigest: f.index, wantStatus: StatusMiss, wantCalls: 1},
		{name: "child by digest never expires", advance: time.Hour, ref: "sha256:" + f.arm64[len("sha256:"):], wantDigest: f.arm64, wantStatus: StatusHit},
	}
	for _, s := range steps {
		f.clock.Advance(s.advance)
		var m registry.ManifestResult
		var status Status
		calls := f.calls(func() { m, status = get(s.ref, s.opts...) })
		if got := m.GetDescriptor().GetDigest().String(); got != s.wantDigest {
			t.Errorf("%s: digest = %s, want %s", s.name, got, s.wantDigest)
		}
		if status != s.wantStatus || calls != s.wantCalls {
			t.Errorf("%s: outcome %s with %d upstream calls, want %s with %d", s.name, status, calls, s.wantStatus, s.wantCalls)
		}
	}
	if got := f.up.count("GetDigest org/app multi"); got != 1 {
		t.Errorf("revalidating HEADs = %d, want 1", got)
	}
}

func TestPlatformNotInIndexAsksUpstream(t *testing.T) {
	f := newIndexFixture(t)
	win := registry.WithPlatform{Platform: &v1.Platform{OS: "windows", Architecture: "amd64"}}
	var err error
	calls := f.calls(func() { _, err = f.app.GetManifest(context.Background(), "multi", win) })
	if !errors.Is(err, registry.ErrPlatformNotFound) {
		t.Errorf("GetManifest(multi, windows) error = %v, want ErrPlatformNotFound", err)
	}
	if calls != 2 || f.up.count("GetManifest org/app @"+f.index) != 1 {
		t.Errorf("upstream calls = %d (by index digest %d), want 2 (1)", calls, f.up.count("GetManifest org/app @"+f.index))
	}
}

func TestGetDigest(t *testing.T) {
	f := newIndexFixture(t)
	ctx := context.Background()
	arm := registry.WithPlatform{Platform: &f.arm64Plat}
	steps := []struct {
		name      string
		ref       string
		opts      []registry.ImageGetOption
		want      string
		wantCalls int
	}{
		{"tag, cold: a HEAD", "multi", nil, f.index, 1},
		{"tag, warm", "multi", nil, f.index, 0},
		{"platform without a cached index: asked", "multi", []registry.ImageGetOption{arm}, f.arm64, 1},
		{"platform, warm", "multi", []registry.ImageGetOption{arm}, f.arm64, 0},
		{"digest, cold: existence checked", "@" + f.amd64, nil, f.amd64, 1},
		{"digest, warm", "@" + f.amd64, nil, f.amd64, 0},
	}
	for _, s := range steps {
		var h *v1.Hash
		var err error
		calls := f.calls(func() { h, err = f.app.GetDigest(ctx, s.ref, s.opts...) })
		if err != nil || h.String() != s.want || calls != s.wantCalls {
			t.Errorf("%s: GetDigest(%s) = %v, %v with %d calls, want %s with %d", s.name, s.ref, h, err, calls, s.want, s.wantCalls)
		}
	}

	// Once the index is held, every platform's digest comes from it.
	if _, err := f.app.GetManifest(ctx, "multi"); err != nil {
		t.Fatal(err)
	}
	var h *v1.Hash
	var err error
	amd := registry.WithPlatform{Platform: &f.amd64Plat}
	if calls := f.calls(func() { h, err = f.app.GetDigest(ctx, "multi", amd) }); err != nil || h.String() != f.amd64 || calls != 0 {
		t.Errorf("GetDigest(multi, amd64) with the index held = %v, %v with %d calls, want %s with 0", h, err, calls, f.amd64)
	}
	if calls := f.calls(func() { err = f.app.CheckImageExists(ctx, "multi") }); err != nil || calls != 0 {
		t.Errorf("CheckImageExists(multi) = %v with %d calls, want nil with 0", err, calls)
	}
}

func TestConfigs(t *testing.T) {
	f := newIndexFixture(t)
	ctx := context.Background()
	arm := registry.WithPlatform{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}

	// Default platform: the index, the amd64 manifest, its config.
	var b []byte
	var err error
	if calls := f.calls(func() { b, err = f.app.GetConfigBlob(ctx, "multi") }); err != nil || string(b) != f.amd64Cfg || calls != 3 {
		t.Fatalf("GetConfigBlob(multi) = %q, %v with %d calls, want %s with 3", b, err, calls, f.amd64Cfg)
	}
	b[0] = 'X' // the caller's own copy
	if calls := f.calls(func() { b, err = f.app.GetConfigBlob(ctx, "multi") }); err != nil || string(b) != f.amd64Cfg || calls != 0 {
		t.Errorf("GetConfigBlob(multi) warm = %q, %v with %d calls, want %s with 0", b, err, calls, f.amd64Cfg)
	}
	// Another platform: the index is held, so its manifest and config only.
	var cf *v1.ConfigFile
	if calls := f.calls(func() { cf, err = f.app.GetImageConfig(ctx, "multi", arm) }); err != nil || cf.Architecture != "arm64" || calls != 2 {
		t.Errorf("GetImageConfig(multi, arm64) = %+v, %v with %d calls, want arm64 with 2", cf, err, calls)
	}
	if calls := f.calls(func() { cf, err = f.app.GetImageConfig(ctx, "@"+f.arm64) }); err != nil || cf.Architecture != "arm64" || calls != 0 {
		t.Errorf("GetImageConfig(@arm64) = %+v, %v with %d calls, want arm64 with 0", cf, err, calls)
	}
	if _, err := f.app.GetConfigBlob(ctx, "nope"); !errors.Is(err, registry.ErrImageNotFound) {
		t.Errorf("GetConfigBlob(nope) error = %v, want ErrImageNotFound", err)
	}
}

func TestGetImagePassesThrough(t *testing.T) {
	f := newIndexFixture(t)
	for range 2 {
		_, _ = f.app.GetImage(context.Background(), "multi")
	}
	if got := f.up.count("GetImage"); got != 2 {
		t.Errorf("upstream GetImage calls = %d, want 2", got)
	}
}

func TestDigestOf(t *testing.T) {
	hex := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		ref    string
		want   string
		wantOK bool
	}{
		{"latest", "", false},
		{"v1.2.3", "", false},
		{"@sha256:" + hex, "sha256:" + hex, true},
		{"sha256:" + hex, "sha256:" + hex, true},
		{"app@sha256:" + hex, "sha256:" + hex, true},
		{"sha256:abc", "", false},
		{"@sha256:" + hex[:63] + "G", "", false},
	}
	for _, tt := range tests {
		got, ok := digestOf(tt.ref)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("digestOf(%q) = %q, %v, want %q, %v", tt.ref, got, ok, tt.want, tt.wantOK)
		}
	}
}
