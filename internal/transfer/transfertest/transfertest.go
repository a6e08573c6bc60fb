// Package transfertest builds the image tarballs that transfer.Upload
// accepts, for tests: `docker save` archives, OCI image layout tars, and
// their gzip-compressed forms.
package transfertest

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
)

// DockerArchive returns img in the `docker save` format, as
// go-containerregistry's tarball.Write (and `crane pull --format=tarball`)
// write it: manifest.json, the config and gzip-compressed layers.
func DockerArchive(t testing.TB, img v1.Image) []byte {
	t.Helper()
	tag, err := name.NewTag("example.com/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tarball.Write(tag, img, &b); err != nil {
		t.Fatalf("tarball.Write: %v", err)
	}
	return b.Bytes()
}

// OCILayout returns content (a v1.Image or a v1.ImageIndex) as an OCI image
// layout tar. An image is appended to an empty index.json; an index becomes
// index.json itself, as layout.Write writes it.
func OCILayout(t testing.TB, content any) []byte {
	t.Helper()
	dir := t.TempDir()
	switch c := content.(type) {
	case v1.ImageIndex:
		if _, err := layout.Write(dir, c); err != nil {
			t.Fatalf("layout.Write: %v", err)
		}
	case v1.Image:
		p, err := layout.Write(dir, empty.Index)
		if err != nil {
			t.Fatalf("layout.Write: %v", err)
		}
		if err := p.AppendImage(c); err != nil {
			t.Fatalf("AppendImage: %v", err)
		}
	default:
		t.Fatalf("OCILayout: unsupported %T", content)
	}
	return TarDir(t, dir)
}

// TarDir returns the tree under dir as a tar with names relative to dir.
func TarDir(t testing.TB, dir string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Name: rel + "/", Typeflag: tar.TypeDir, Mode: 0o755})
		}
		body, err := os.ReadFile(p) //nolint:gosec // G304: a file under the caller's own directory, found by WalkDir
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: rel, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			return err
		}
		_, err = tw.Write(body)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatalf("tar %s: %v", dir, err)
	}
	return b.Bytes()
}

// Gzip returns b gzip-compressed.
func Gzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
