package transfer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.uber.org/goleak"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
	"github.com/regapi/regapi/internal/transfer/transfertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, registrytest.LeakOptions()...) }

// newClient returns a plain-HTTP client for host/repo.
func newClient(host, repo string) registry.Client {
	return registry.NewClientWithOptions(host, &registry.Options{Insecure: true}).WithSegment(repo)
}

// dockerTar returns img in the `docker save` format.
func dockerTar(t testing.TB, img v1.Image) []byte { return transfertest.DockerArchive(t, img) }

// layoutTar returns an image or index as an OCI image layout tar.
func layoutTar(t testing.TB, content any) []byte { return transfertest.OCILayout(t, content) }

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
// transfertest, to be changed and written again.
func readTar(t testing.TB, b []byte) []tfile {
	t.Helper()
	var files []tfile
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
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
func gz(t testing.TB, b []byte) []byte { return transfertest.Gzip(t, b) }

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

// closeSpool closes s, which removes its file, and fails tb if that fails.
func closeSpool(tb testing.TB, s *Spooled) {
	tb.Helper()
	if err := s.Close(); err != nil {
		tb.Errorf("Spooled.Close() = %v", err)
	}
}
