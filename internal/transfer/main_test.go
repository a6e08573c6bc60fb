package transfer

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
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
	"go.uber.org/goleak"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, registrytest.LeakOptions()...) }

// newClient returns a plain-HTTP client for host/repo.
func newClient(host, repo string) registry.Client {
	return registry.NewClientWithOptions(host, &registry.Options{Insecure: true}).WithSegment(repo)
}

// dockerTar returns img in the `docker save` format, as tarball.Write makes it.
func dockerTar(t testing.TB, img v1.Image) []byte {
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

// layoutTar returns an OCI image layout as a tar. An image is appended to an
// empty index; an index is written as index.json itself (layout.Write).
func layoutTar(t testing.TB, content any) []byte {
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
		t.Fatalf("layoutTar: unsupported %T", content)
	}
	return tarDir(t, dir)
}

// tarDir returns the tree under dir as a tar with relative names.
func tarDir(t testing.TB, dir string) []byte {
	t.Helper()
	var files []tfile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			files = append(files, tfile{name: filepath.ToSlash(rel) + "/", typ: tar.TypeDir})
			return nil
		}
		b, err := os.ReadFile(p)
		files = append(files, tfile{name: filepath.ToSlash(rel), body: b})
		return err
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return makeTar(t, files)
}

// tfile is one entry of a tar built by makeTar.
type tfile struct {
	name string
	body []byte
	typ  byte   // tar.TypeReg when zero
	link string // for links
}

// makeTar writes files, in order, as a tar.
func makeTar(t testing.TB, files []tfile) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		typ := f.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: f.name, Typeflag: typ, Linkname: f.link, Mode: 0o644}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(f.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("tar header %q: %v", f.name, err)
		}
		if _, err := tw.Write(f.body); err != nil && typ == tar.TypeReg {
			t.Fatalf("tar body %q: %v", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readTar returns the entries of a tar made by makeTar, tarball.Write or
// tarDir, to be changed and written again.
func readTar(t testing.TB, b []byte) []tfile {
	t.Helper()
	var files []tfile
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, tfile{name: hdr.Name, body: body, typ: hdr.Typeflag, link: hdr.Linkname})
	}
}

// gz returns b gzip-compressed.
func gz(t testing.TB, b []byte) []byte {
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

// assertEmptyDir fails unless dir has no entries.
func assertEmptyDir(t testing.TB, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir(%s): %v", dir, err)
	}
	for _, e := range ents {
		t.Errorf("spool dir holds %s after the call, want it empty", e.Name())
	}
}

// spoolBytes spools b into a new temporary directory and closes the result
// when the test ends.
func spoolBytes(t testing.TB, b []byte) *Spooled {
	t.Helper()
	s, err := Spool(context.Background(), bytes.NewReader(b), t.TempDir(), 1<<30)
	if err != nil {
		t.Fatalf("Spool: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
