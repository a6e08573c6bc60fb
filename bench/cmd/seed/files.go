package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"
)

// filesLayers is the files image's layer count, as the files rows of
// bench/run.sh describe the image.
const filesLayers = 4

// pushFiles pushes the image of the files benchmarks: layers of
// random bytes (so that gzip keeps them whole and the registry serves
// every byte), total MiB in all; the base layer holds data/big.bin, a
// quarter of the image, and every layer adds one file to shared/, so that
// listing /shared needs every layer.
func (p *pusher) pushFiles(ctx context.Context, repoTag string, totalMiB int) (v1.Hash, error) {
	per := int64(totalMiB) << 20 / filesLayers
	layers := make([]v1.Layer, filesLayers)
	var g errgroup.Group
	for i := range filesLayers {
		g.Go(func() error {
			big := fmt.Sprintf("fill/l%d.bin", i)
			if i == 0 {
				big = "data/big.bin"
			}
			l, err := randomFilesLayer(i, []string{big, fmt.Sprintf("shared/l%d", i)}, []int64{per - 8<<10, 1000})
			layers[i] = l
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return v1.Hash{}, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		return v1.Hash{}, err
	}
	return p.write(repoTag, img)
}

// randomFilesLayer tars files of random bytes (seeded by idx) and gzips
// the tar at the fastest level: random bytes do not compress anyway.
func randomFilesLayer(idx int, names []string, sizes []int64) (*memLayer, error) {
	// Seeded math/rand: the content must be the same on every run.
	rng := rand.New(rand.NewPCG(uint64(idx)+1, 0xf11e5)) //nolint:gosec // G404, G115: see above; idx >= 0
	var compressed bytes.Buffer
	zw, err := gzip.NewWriterLevel(&compressed, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	diff := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(zw, diff)}
	tw := tar.NewWriter(cw)
	buf := make([]byte, 1<<20)
	for i, name := range names {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: sizes[i], ModTime: epoch}); err != nil {
			return nil, err
		}
		for left := sizes[i]; left > 0; {
			n := min(left, int64(len(buf)))
			for j := 0; j+8 <= int(n); j += 8 {
				v := rng.Uint64()
				for k := range 8 {
					buf[j+k] = byte(v >> (8 * k)) //nolint:gosec // G115: taking one byte is the point
				}
			}
			if _, err := tw.Write(buf[:n]); err != nil {
				return nil, err
			}
			left -= n
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return newMemLayer(compressed.Bytes(), diff.Sum(nil), cw.n), nil
}
