package transfer

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// BenchmarkLoad measures indexing and verifying a 64 MiB image (four 16 MiB
// layers) in both formats; bytes/s is over the spooled tar.
func BenchmarkLoad(b *testing.B) {
	img, err := random.Image(16<<20, 4)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		tar  []byte
	}{
		{"docker-archive", dockerTar(b, img)},
		{"docker-archive-plain-layers", gunzipLayers(b, dockerTar(b, img))},
		{"oci-layout", layoutTar(b, img)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := Spool(context.Background(), bytes.NewReader(bc.tar), b.TempDir(), 1<<30)
			if err != nil {
				b.Fatal(err)
			}
			defer closeSpool(b, s)
			b.SetBytes(s.Size())
			for b.Loop() {
				if _, err := Load(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUpload measures a whole upload of a 64 MiB image (spool, verify,
// push) into go-containerregistry's in-process registry; every iteration
// pushes to a new repository, so the blobs are uploaded each time. (The
// distribution registry's inmemory driver copies a blob on every append and
// manages about 4 MB/s here, which would measure the driver, not transfer.)
func BenchmarkUpload(b *testing.B) {
	img, err := random.Image(16<<20, 4)
	if err != nil {
		b.Fatal(err)
	}
	host := registrytest.NewGGCR(b)
	for _, bc := range []struct {
		name string
		body []byte
	}{
		{"oci-layout", layoutTar(b, img)},
		{"docker-archive-gzip", gz(b, dockerTar(b, img))},
		// Plain layers, as `docker save` writes them: the push compresses
		// each layer twice (for its digest, then for the upload).
		{"docker-archive-plain-layers", gunzipLayers(b, dockerTar(b, img))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			b.SetBytes(int64(len(bc.body)))
			n := 0
			for b.Loop() {
				n++
				dst := newClient(host, fmt.Sprintf("bench/%s-%d", bc.name, n))
				if _, err := Upload(context.Background(), dst, "v1", bytes.NewReader(bc.body), UploadOptions{Dir: dir, MaxBytes: 1 << 30}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
