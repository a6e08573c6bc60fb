package registry_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/bombtest"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// configReads are the ways a config is read through the client, each of
// them through its one bounded read. dst receives CopyImage.
func configReads(t *testing.T, c, dst registry.Client) map[string]func() error {
	t.Helper()
	amd64 := registry.WithPlatform{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}
	image := func(f func(registry.ClientImage) error) func() error {
		return func() error {
			img, err := c.GetImage(ctx, "v1")
			if err != nil {
				return err
			}
			return f(img)
		}
	}
	return map[string]func() error{
		"GetImageConfig": func() error { _, err := c.GetImageConfig(ctx, "v1"); return err },
		"GetConfigBlob":  func() error { _, err := c.GetConfigBlob(ctx, "v1"); return err },
		"GetConfigBlob WithManifest": func() error {
			m, err := c.GetManifest(ctx, "v1")
			if err != nil {
				return err
			}
			_, err = c.GetConfigBlob(ctx, "@"+m.GetDescriptor().GetDigest().String(), registry.WithManifest{Manifest: m})
			return err
		},
		"GetImage ConfigFile":    image(func(i registry.ClientImage) error { _, err := i.ConfigFile(); return err }),
		"GetImage RawConfigFile": image(func(i registry.ClientImage) error { _, err := i.RawConfigFile(); return err }),
		"GetImage LayerByDiffID": image(func(i registry.ClientImage) error {
			_, err := i.LayerByDiffID(v1.Hash{Algorithm: "sha256", Hex: "00000000000000000000000000000000000000000000000000000000000000ff"})
			return err
		}),
		"CopyImage WithPlatform": func() error { _, err := c.CopyImage(ctx, "v1", dst, "copied", amd64); return err },
	}
}

// TestConfigBounds: a manifest that declares a config above the cap is
// refused before the blob is asked for, and a config body longer than
// declared is cut at the declared size plus one byte, by every way a
// config is read. Before, a declared 8,000,000,000 bytes with an endless
// body grew the process to 3.2 GB in 8 s (GET …/-/config without the
// cache) and 3.4 GB in 6 s (a copy with a platform).
func TestConfigBounds(t *testing.T) {
	const capBytes = 4 << 20 // Options.MaxManifestBytes' default
	tests := []struct {
		name      string
		h         *registrytest.Hostile
		wantGets  bool  // whether the blob is asked for
		maxConfig int64 // blob bytes one read may take
	}{
		{"declares 8 GB, endless", &registrytest.Hostile{ConfigSize: 8_000_000_000, ConfigBody: -1}, false, 0},
		{"declares the cap and one byte", &registrytest.Hostile{ConfigSize: capBytes + 1, ConfigBody: -1}, false, 0},
		{"declares the cap, endless", &registrytest.Hostile{ConfigSize: capBytes, ConfigBody: -1}, true, capBytes + 1},
		{"declares 1000, endless", &registrytest.Hostile{ConfigSize: 1000, ConfigBody: -1}, true, 1001},
		{"declares 1000, sends 10", &registrytest.Hostile{ConfigSize: 1000, ConfigBody: 10}, true, 10},
		{"declares 1000, another digest", &registrytest.Hostile{ConfigSize: 1000, ConfigBody: 1000}, true, 1000},
		{"declares a negative size", &registrytest.Hostile{ConfigSize: -1, ConfigBody: -1}, false, 0},
	}
	dst := newClient(t, registrytest.NewDistribution(t, nil), nil).WithSegment("copies")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, rc := hostileClient(t, tc.h)
			app := c.WithSegment("app")
			m, _ := tc.h.Manifest()
			for name, read := range configReads(t, app, dst) {
				gets := tc.h.BlobGets.Load()
				before := rc.n.Load()
				if err := read(); !errors.Is(err, registry.ErrUpstreamInvalid) {
					t.Errorf("%s = %v, want ErrUpstreamInvalid", name, err)
				}
				gotGets := tc.h.BlobGets.Load() > gets
				if gotGets != tc.wantGets {
					t.Errorf("%s: asked for the blob %v, want %v", name, gotGets, tc.wantGets)
				}
				// At most two manifests (GetManifest, then the read) besides the blob.
				if n, limit := rc.n.Load()-before, tc.maxConfig+2*int64(len(m)); n > limit {
					t.Errorf("%s read %d bytes, want at most %d", name, n, limit)
				}
			}
		})
	}
}

// TestConfigHeapBounded measures the heap one config read takes from an
// upstream declaring the cap (4 MiB) and sending an endless body.
func TestConfigHeapBounded(t *testing.T) {
	h := &registrytest.Hostile{ConfigSize: 4 << 20, ConfigBody: -1}
	c, rc := hostileClient(t, h)
	app := c.WithSegment("app")
	peak, err := bombtest.PeakHeap(func() error {
		_, err := app.GetConfigBlob(ctx, "v1")
		return err
	})
	if !errors.Is(err, registry.ErrUpstreamInvalid) {
		t.Fatalf("GetConfigBlob(endless) = %v, want ErrUpstreamInvalid", err)
	}
	t.Logf("heap peak %.1f MiB, %d bytes read, %d written", float64(peak)/(1<<20), rc.n.Load(), h.BlobBytes.Load())
	if limit := uint64(16 << 20); peak > limit {
		t.Errorf("heap grew by %d bytes, want at most %d", peak, limit)
	}
}

// TestConfigEmbedded: a config embedded in its descriptor ("data") is
// read from there, checked as a fetched one is.
func TestConfigEmbedded(t *testing.T) {
	data := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	h := &registrytest.Hostile{ConfigSize: int64(len(data)), ConfigData: data}
	c, _ := hostileClient(t, h)
	app := c.WithSegment("app")
	if b, err := app.GetConfigBlob(ctx, "v1"); err != nil || !bytes.Equal(b, data) {
		t.Errorf("GetConfigBlob(embedded) = %q, %v, want %q", b, err, data)
	}
	if cf, err := app.GetImageConfig(ctx, "v1"); err != nil || cf.OS != "linux" {
		t.Errorf("GetImageConfig(embedded) = %+v, %v, want linux", cf, err)
	}
	if n := h.BlobGets.Load(); n != 0 {
		t.Errorf("embedded config: %d blob requests, want 0", n)
	}
	h2 := &registrytest.Hostile{ConfigSize: int64(len(data)) + 1, ConfigData: data}
	c2, _ := hostileClient(t, h2)
	if _, err := c2.WithSegment("app").GetConfigBlob(ctx, "v1"); !errors.Is(err, registry.ErrUpstreamInvalid) {
		t.Errorf("GetConfigBlob(embedded, size off by one) = %v, want ErrUpstreamInvalid", err)
	}
}

// TestConfigReads: the bounded read gives every way of reading a real
// registry's config what go-containerregistry's own reads gave: the same
// bytes, the same parsed config, the layers' DiffIDs, and a copy.
func TestConfigReads(t *testing.T) {
	registries(t, func(t *testing.T, host string) {
		img := registrytest.RandomImageFor(t, 2, v1.Platform{OS: "linux", Architecture: "amd64"})
		registrytest.Push(t, host+"/org/app:v1", img)
		wantRaw, _ := img.RawConfigFile()
		wantCF, _ := img.ConfigFile()
		wantLayers, _ := img.Layers()
		c := newClient(t, host, nil).WithSegment("org", "app")
		for name, read := range configReads(t, c, c) {
			if name == "GetImage LayerByDiffID" {
				continue // asks for a DiffID the image lacks; below with its own
			}
			if err := read(); err != nil {
				t.Errorf("%s = %v", name, err)
			}
		}
		if b, err := c.GetConfigBlob(ctx, "v1"); err != nil || !bytes.Equal(b, wantRaw) {
			t.Errorf("GetConfigBlob = %d bytes, %v, want the pushed %d", len(b), err, len(wantRaw))
		}
		if cf, err := c.GetImageConfig(ctx, "v1"); err != nil || !cmp.Equal(cf, wantCF) {
			t.Errorf("GetImageConfig = %v, want the pushed config: %s", err, cmp.Diff(wantCF, cf))
		}
		got, err := c.GetImage(ctx, "v1")
		if err != nil {
			t.Fatal(err)
		}
		layers, err := got.Layers()
		if err != nil || len(layers) != len(wantLayers) {
			t.Fatalf("Layers() = %d, %v, want %d", len(layers), err, len(wantLayers))
		}
		for i, l := range layers {
			d, err := l.DiffID()
			if err != nil || d != wantCF.RootFS.DiffIDs[i] {
				t.Errorf("layer %d DiffID() = %s, %v, want %s", i, d, err, wantCF.RootFS.DiffIDs[i])
			}
		}
		l, err := got.LayerByDiffID(wantCF.RootFS.DiffIDs[1])
		if err != nil {
			t.Fatalf("LayerByDiffID: %v", err)
		}
		if d, _ := l.Digest(); d != must(wantLayers[1].Digest()) {
			t.Errorf("LayerByDiffID(layer 1) has digest %s, want %s", d, must(wantLayers[1].Digest()))
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
