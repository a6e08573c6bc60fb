package registry_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

func TestReadImage(t *testing.T) {
	registries(t, func(t *testing.T, host string) {
		img := registrytest.PushRandomImage(t, host, "org/app", "v1.0.0")
		wantDigest, _ := img.Digest()
		wantRaw, _ := img.RawManifest()
		wantConfig, _ := img.RawConfigFile()
		c := newClient(t, host, nil).WithSegment("org", "app")

		for _, ref := range []string{"v1.0.0", "@" + wantDigest.String(), wantDigest.String()} {
			d, err := c.GetDigest(ctx, ref)
			if err != nil || *d != wantDigest {
				t.Errorf("GetDigest(%q) = %v, %v, want %s", ref, d, err, wantDigest)
			}
			m, err := c.GetManifest(ctx, ref)
			if err != nil {
				t.Fatalf("GetManifest(%q): %v", ref, err)
			}
			if !bytes.Equal(m.GetRaw(), wantRaw) {
				t.Errorf("GetManifest(%q).GetRaw() differs from the pushed manifest", ref)
			}
			if got := m.GetDescriptor().GetDigest(); got != wantDigest {
				t.Errorf("GetManifest(%q) digest = %s, want %s", ref, got, wantDigest)
			}
			if got := m.GetDescriptor().GetMediaType(); got != types.DockerManifestSchema2 {
				t.Errorf("GetManifest(%q) media type = %s, want %s", ref, got, types.DockerManifestSchema2)
			}
			if err := c.CheckImageExists(ctx, ref); err != nil {
				t.Errorf("CheckImageExists(%q) = %v, want nil", ref, err)
			}
		}

		cf, err := c.GetImageConfig(ctx, "v1.0.0")
		if err != nil || cf.Architecture != "amd64" || cf.OS != "linux" {
			t.Errorf("GetImageConfig = %+v, %v, want linux/amd64", cf, err)
		}
		raw, err := c.GetConfigBlob(ctx, "v1.0.0")
		if err != nil || !bytes.Equal(raw, wantConfig) {
			t.Errorf("GetConfigBlob = %d bytes, %v, want the pushed %d bytes", len(raw), err, len(wantConfig))
		}

		got, err := c.GetImage(ctx, "v1.0.0")
		if err != nil {
			t.Fatalf("GetImage: %v", err)
		}
		if d, _ := got.Digest(); d != wantDigest {
			t.Errorf("GetImage digest = %s, want %s", d, wantDigest)
		}
		rc := got.Extract()
		n := countTarEntries(t, rc)
		if err := rc.Close(); err != nil {
			t.Errorf("Extract().Close() = %v", err)
		}
		if n == 0 {
			t.Errorf("Extract() has no entries")
		}

		mr, _ := c.GetManifest(ctx, "v1.0.0")
		mf, err := mr.GetManifest()
		if err != nil {
			t.Fatalf("GetManifest().GetManifest(): %v", err)
		}
		if mf.GetSchemaVersion() != 2 || len(mf.GetLayers()) != 2 {
			t.Errorf("manifest schema %d, %d layers, want 2, 2", mf.GetSchemaVersion(), len(mf.GetLayers()))
		}
		if _, err := mr.GetIndexManifest(); err == nil {
			t.Errorf("GetIndexManifest() on an image = nil error, want one")
		}
	})
}

func TestReadIndex(t *testing.T) {
	registries(t, func(t *testing.T, host string) {
		idx := registrytest.PushRandomIndex(t, host, "org/multi", "v1")
		wantDigest, _ := idx.Digest()
		im, _ := idx.IndexManifest()
		amd64, arm64 := im.Manifests[0], im.Manifests[1]
		c := newClient(t, host, nil).WithSegment("org/multi")
		arm := registry.WithPlatform{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}

		d, err := c.GetDigest(ctx, "v1")
		if err != nil || *d != wantDigest {
			t.Errorf("GetDigest(v1) = %v, %v, want index %s", d, err, wantDigest)
		}
		d, err = c.GetDigest(ctx, "v1", arm)
		if err != nil || *d != arm64.Digest {
			t.Errorf("GetDigest(v1, arm64) = %v, %v, want %s", d, err, arm64.Digest)
		}

		m, err := c.GetManifest(ctx, "v1")
		if err != nil || !m.GetDescriptor().GetMediaType().IsIndex() {
			t.Fatalf("GetManifest(v1) = %v, %v, want the index", m, err)
		}
		ix, err := m.GetIndexManifest()
		if err != nil || len(ix.GetManifests()) != 2 || ix.GetManifests()[1].GetPlatform().Architecture != "arm64" {
			t.Errorf("GetIndexManifest() = %v, %v, want 2 entries, the second arm64", ix, err)
		}
		m, err = c.GetManifest(ctx, "v1", arm)
		if err != nil || m.GetDescriptor().GetDigest() != arm64.Digest {
			t.Errorf("GetManifest(v1, arm64) = %v, %v, want child %s", m, err, arm64.Digest)
		}

		img, err := c.GetImage(ctx, "v1")
		if err != nil {
			t.Fatalf("GetImage(v1): %v", err)
		}
		if got, _ := img.Digest(); got != amd64.Digest {
			t.Errorf("GetImage(v1) = %s, want the default linux/amd64 child %s", got, amd64.Digest)
		}
		cf, err := c.GetImageConfig(ctx, "v1", arm)
		if err != nil || cf.Architecture != "arm64" {
			t.Errorf("GetImageConfig(v1, arm64) = %v, %v, want arm64", cf, err)
		}

		_, err = c.GetImage(ctx, "v1", registry.WithPlatform{Platform: &v1.Platform{OS: "windows", Architecture: "amd64"}})
		var pnf *registry.PlatformNotFoundError
		if !errors.Is(err, registry.ErrPlatformNotFound) || !errors.As(err, &pnf) || len(pnf.Available) != 2 {
			t.Errorf("GetImage(v1, windows) = %v, want PlatformNotFoundError listing 2 platforms", err)
		}
	})
}

func countTarEntries(t *testing.T, r io.Reader) int {
	t.Helper()
	tr := tar.NewReader(r)
	n := 0
	for {
		_, err := tr.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		n++
	}
}
