package registry_test

import (
	"archive/tar"
	"bytes"
	"io"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

func TestPush(t *testing.T) {
	registries(t, func(t *testing.T, host string) {
		c := newClient(t, host, nil).WithSegment("pushed")
		img := registrytest.RandomImage(t, 2)
		if err := c.PushImage(ctx, "img", img); err != nil {
			t.Fatalf("PushImage: %v", err)
		}
		idx := registrytest.RandomIndex(t)
		if err := c.PushIndex(ctx, "idx", idx); err != nil {
			t.Fatalf("PushIndex: %v", err)
		}
		for tag, want := range map[string]interface{ Digest() (v1.Hash, error) }{"img": img, "idx": idx} {
			w, _ := want.Digest()
			got, err := c.GetDigest(ctx, tag)
			if err != nil || *got != w {
				t.Errorf("GetDigest(%s) = %v, %v, want %s", tag, got, err, w)
			}
		}
		// Push by digest, untagged.
		img2 := registrytest.RandomImage(t, 1)
		d2, _ := img2.Digest()
		if err := c.PushImage(ctx, "@"+d2.String(), img2); err != nil {
			t.Fatalf("PushImage(by digest): %v", err)
		}
		if err := c.CheckImageExists(ctx, d2.String()); err != nil {
			t.Errorf("CheckImageExists(pushed digest) = %v", err)
		}
	})
}

func TestCopyImage(t *testing.T) {
	srcReg := registrytest.StartDistribution(t, nil)
	dstReg := registrytest.StartDistribution(t, nil)
	idx := registrytest.PushRandomIndex(t, srcReg.Host, "org/app", "v1")
	idxDigest, _ := idx.Digest()
	im, _ := idx.IndexManifest()
	src := newClient(t, srcReg.Host, nil).WithSegment("org", "app")
	dst := newClient(t, dstReg.Host, nil).WithSegment("mirror", "org", "app")

	// The whole index, every platform.
	got, err := src.CopyImage(ctx, "v1", dst, "v1")
	if err != nil || *got != idxDigest {
		t.Fatalf("CopyImage(index) = %v, %v, want %s", got, err, idxDigest)
	}
	srcM, _ := src.GetManifest(ctx, "v1")
	dstM, err := dst.GetManifest(ctx, "v1")
	if err != nil || !bytes.Equal(srcM.GetRaw(), dstM.GetRaw()) {
		t.Errorf("copied index differs from the source (%v)", err)
	}
	for _, d := range im.Manifests {
		if _, err := dst.GetImage(ctx, "v1", registry.WithPlatform{Platform: d.Platform}); err != nil {
			t.Errorf("copied index lacks %s: %v", d.Platform, err)
		}
	}

	// Copying again to another tag uploads no blob.
	dstReg.ResetRequests()
	if _, err := src.CopyImage(ctx, "v1", dst, "again"); err != nil {
		t.Fatalf("second CopyImage: %v", err)
	}
	if n := dstReg.CountRequests("POST", "/v2/mirror/org/app/blobs/uploads"); n != 0 {
		t.Errorf("second copy started %d blob uploads, want 0", n)
	}

	// One platform only.
	arm := &v1.Platform{OS: "linux", Architecture: "arm64"}
	got, err = src.CopyImage(ctx, "v1", dst, "arm", registry.WithPlatform{Platform: arm})
	if err != nil || *got != im.Manifests[1].Digest {
		t.Fatalf("CopyImage(arm64) = %v, %v, want %s", got, err, im.Manifests[1].Digest)
	}
	m, err := dst.GetManifest(ctx, "arm")
	if err != nil || m.GetDescriptor().GetMediaType().IsIndex() || m.GetDescriptor().GetDigest() != im.Manifests[1].Digest {
		t.Errorf("dst arm = %v, %v, want the arm64 image", m, err)
	}

	// Without a tag the copy is by digest.
	got, err = src.CopyImage(ctx, "v1", dst.WithSegment("bydigest"), "")
	if err != nil || *got != idxDigest {
		t.Fatalf("CopyImage(no tag) = %v, %v", got, err)
	}
	if err := dst.WithSegment("bydigest").CheckImageExists(ctx, idxDigest.String()); err != nil {
		t.Errorf("copy by digest missing: %v", err)
	}
}

// TestExtract checks whiteouts and opaque directories in the flattened
// filesystem.
func TestExtract(t *testing.T) {
	host := registrytest.NewGGCR(t)
	lower := layer(t, map[string]string{"a.txt": "a", "dir/b.txt": "b", "dir2/c.txt": "c", "keep/d.txt": "d"})
	upper := layer(t, map[string]string{".wh.a.txt": "", "dir2/.wh..wh..opq": "", "dir2/new.txt": "new", "keep/e.txt": "e"})
	img, err := mutate.AppendLayers(empty.Image, lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, host, nil).WithSegment("fs")
	if err := c.PushImage(ctx, "v1", img); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetImage(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	rc := got.Extract()
	defer func() { _ = rc.Close() }() // read-only
	files := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			files[h.Name] = string(b)
		}
	}
	want := map[string]string{"dir/b.txt": "b", "dir2/new.txt": "new", "keep/d.txt": "d", "keep/e.txt": "e"}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("Extract() files (-want +got):\n%s", diff)
	}
}

// layer builds an uncompressed layer holding files.
func layer(t *testing.T, files map[string]string) v1.Layer {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}
