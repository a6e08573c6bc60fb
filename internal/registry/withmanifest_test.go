package registry_test

import (
	"bytes"
	"testing"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// TestConfigBlobWithManifest: with the manifest handed over, GetConfigBlob
// fetches the config blob alone; handed the wrong manifest (another
// digest, or by tag), it ignores the option and reads as usual.
func TestConfigBlobWithManifest(t *testing.T) {
	reg := registrytest.StartDistribution(t, nil)
	img := registrytest.PushRandomImage(t, reg.Host, "org/app", "v1")
	other := registrytest.PushRandomImage(t, reg.Host, "org/app", "v2")
	want, _ := img.RawConfigFile()
	d, _ := img.Digest()
	c := newClient(t, reg.Host, nil).WithSegment("org", "app")
	m, err := c.GetManifest(ctx, "@"+d.String())
	if err != nil {
		t.Fatal(err)
	}
	otherDigest, _ := other.Digest()
	om, err := c.GetManifest(ctx, "@"+otherDigest.String())
	if err != nil {
		t.Fatal(err)
	}

	reg.ResetRequests()
	got, err := c.GetConfigBlob(ctx, "@"+d.String(), registry.WithManifest{Manifest: m})
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("GetConfigBlob(WithManifest) = %d bytes, %v; want the pushed %d bytes", len(got), err, len(want))
	}
	if n := reg.CountRequests("GET", "/v2/org/app/manifests/"); n != 0 {
		t.Errorf("GetConfigBlob(WithManifest) fetched the manifest %d times, want 0", n)
	}
	if n := reg.CountRequests("GET", "/v2/org/app/blobs/"); n != 1 {
		t.Errorf("GetConfigBlob(WithManifest) made %d blob GETs, want 1", n)
	}

	for _, tt := range []struct {
		name, ref string
		m         registry.ManifestResult
	}{
		{"another digest's manifest", "@" + d.String(), om},
		{"by tag", "v1", m},
	} {
		reg.ResetRequests()
		got, err := c.GetConfigBlob(ctx, tt.ref, registry.WithManifest{Manifest: tt.m})
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("GetConfigBlob(%s) = %d bytes, %v; want v1's config", tt.name, len(got), err)
		}
		if n := reg.CountRequests("GET", "/v2/org/app/manifests/"); n != 1 {
			t.Errorf("GetConfigBlob(%s) fetched the manifest %d times, want 1 (option ignored)", tt.name, n)
		}
	}
}
