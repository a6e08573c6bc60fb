package transfer

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
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
			defer s.Close()
			b.SetBytes(s.Size())
			for b.Loop() {
				if _, err := Load(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
