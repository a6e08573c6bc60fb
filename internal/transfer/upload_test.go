package transfer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// writeRequests counts the requests that write to a registry.
func writeRequests(r *registrytest.Registry) int {
	return r.CountRequests("PUT", "/") + r.CountRequests("POST", "/") + r.CountRequests("PATCH", "/")
}

func TestUploadReadBack(t *testing.T) {
	reg := registrytest.StartDistribution(t, nil)
	img := registrytest.RandomImage(t, 3)
	idx := registrytest.RandomIndex(t, v1.Platform{OS: "linux", Architecture: "amd64"},
		v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, v1.Platform{OS: "linux", Architecture: "s390x"})
	imgDigest, _ := img.Digest()
	idxDigest, _ := idx.Digest()

	tests := []struct {
		name   string
		body   []byte
		want   v1.Hash // zero: whatever Load computed
		format Format
		index  v1.ImageIndex
	}{
		{"docker archive", dockerTar(t, img), imgDigest, FormatDockerArchive, nil},
		{"docker archive gzip", gz(t, dockerTar(t, img)), imgDigest, FormatDockerArchive, nil},
		{"docker archive plain layers", gunzipLayers(t, dockerTar(t, img)), v1.Hash{}, FormatDockerArchive, nil},
		{"oci layout image", layoutTar(t, img), imgDigest, FormatOCILayout, nil},
		{"oci layout index gzip", gz(t, layoutTar(t, idx)), idxDigest, FormatOCILayout, idx},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dst := newClient(reg.Host, "uploads/"+string(tc.format))
			res, err := Upload(t.Context(), dst, "v1", bytes.NewReader(tc.body), UploadOptions{Dir: dir, MaxBytes: 64 << 20})
			if err != nil {
				t.Fatalf("Upload = %v", err)
			}
			assertEmptyDir(t, dir)
			if res.Format != tc.format {
				t.Errorf("Format = %s, want %s", res.Format, tc.format)
			}
			if tc.want != (v1.Hash{}) && res.Digest != tc.want {
				t.Errorf("Upload digest = %s, want %s", res.Digest, tc.want)
			}
			got, err := dst.GetDigest(t.Context(), "v1")
			if err != nil {
				t.Fatalf("GetDigest(v1) = %v", err)
			}
			if *got != res.Digest {
				t.Errorf("registry has v1 = %s, Upload said %s", got, res.Digest)
			}
			if tc.index == nil {
				cfg, err := dst.GetImageConfig(t.Context(), "v1")
				if err != nil {
					t.Fatalf("GetImageConfig = %v", err)
				}
				want, _ := img.ConfigFile()
				if len(cfg.RootFS.DiffIDs) != len(want.RootFS.DiffIDs) || cfg.RootFS.DiffIDs[0] != want.RootFS.DiffIDs[0] {
					t.Errorf("pushed diff_ids = %v, want %v", cfg.RootFS.DiffIDs, want.RootFS.DiffIDs)
				}
				return
			}
			im, _ := tc.index.IndexManifest()
			for _, d := range im.Manifests {
				got, err := dst.GetDigest(t.Context(), "v1", registry.WithPlatform{Platform: d.Platform})
				if err != nil {
					t.Fatalf("GetDigest(v1, %s) = %v", d.Platform, err)
				}
				if *got != d.Digest {
					t.Errorf("GetDigest(v1, %s) = %s, want %s", d.Platform, got, d.Digest)
				}
			}
		})
	}
}

func TestUploadRejectsWritesNothing(t *testing.T) {
	reg := registrytest.StartDistribution(t, nil)
	dst := newClient(reg.Host, "org/app")
	for name, b := range corruptCases(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Upload(t.Context(), dst, "v1", bytes.NewReader(b), UploadOptions{Dir: dir, MaxBytes: 64 << 20})
			if !errors.Is(err, ErrInvalidTarball) {
				t.Errorf("Upload = %v, want ErrInvalidTarball", err)
			}
			assertEmptyDir(t, dir)
		})
	}
	if n := writeRequests(reg); n != 0 {
		t.Errorf("registry saw %d write requests, want 0: %q", n, reg.Requests())
	}
	if tags, err := dst.ListTags(t.Context()); !errors.Is(err, registry.ErrRepositoryNotFound) || len(tags) != 0 {
		t.Errorf("ListTags = %q, %v, want ErrRepositoryNotFound", tags, err)
	}
}

// cancelAfter cancels its context once n bytes of r have been read, and then
// keeps serving r, like a client still sending when the request ends.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= k; c.n <= 0 {
		c.cancel()
	}
	return k, err
}

func TestUploadFailures(t *testing.T) {
	reg := registrytest.StartDistribution(t, nil)
	body := dockerTar(t, registrytest.RandomImage(t, 4))
	tests := []struct {
		name string
		max  int64
		body func(cancel context.CancelFunc) io.Reader
		want error
	}{
		{"over cap", int64(len(body)) - 1, func(context.CancelFunc) io.Reader { return bytes.NewReader(body) }, ErrTooLarge},
		{"over cap once decompressed", int64(len(gz(t, body))) + 1, func(context.CancelFunc) io.Reader { return bytes.NewReader(gz(t, body)) }, ErrTooLarge},
		{"context cancelled mid-body", 64 << 20, func(c context.CancelFunc) io.Reader {
			return &cancelAfter{r: bytes.NewReader(body), n: len(body) / 3, cancel: c}
		}, context.Canceled},
		{"client abort", 64 << 20, func(context.CancelFunc) io.Reader {
			return io.MultiReader(bytes.NewReader(body[:len(body)/2]), &failReader{err: io.ErrUnexpectedEOF})
		}, ErrIncompleteBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			_, err := Upload(ctx, newClient(reg.Host, "org/app"), "v1", tc.body(cancel), UploadOptions{Dir: dir, MaxBytes: tc.max})
			if !errors.Is(err, tc.want) {
				t.Errorf("Upload = %v, want %v", err, tc.want)
			}
			assertEmptyDir(t, dir)
		})
	}
	if n := writeRequests(reg); n != 0 {
		t.Errorf("registry saw %d write requests, want 0", n)
	}
}

func TestUploadPushFailureRemovesSpool(t *testing.T) {
	reg := registrytest.StartDistribution(t, nil)
	dir := t.TempDir()
	dst := newClient(reg.Host, "Not/A/Valid/Name")
	_, err := Upload(t.Context(), dst, "v1", bytes.NewReader(dockerTar(t, registrytest.RandomImage(t, 1))), UploadOptions{Dir: dir, MaxBytes: 64 << 20})
	if !errors.Is(err, registry.ErrInvalidName) {
		t.Errorf("Upload = %v, want ErrInvalidName", err)
	}
	assertEmptyDir(t, dir)
}
