package main

import (
	"context"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// bigImage describes the pushed large image.
type bigImage struct {
	digest       v1.Hash
	uncompressed int64 // sum of the layers' tar sizes
	compressed   int64 // sum of the layers' gzip sizes
}

// layerSizes splits total over n layers with a few large base layers and
// smaller ones on top, as real images are built.
func layerSizes(total int64, n int) []int64 {
	weights := make([]int64, n)
	var sum int64
	for i := range n {
		weights[i] = int64(2*n - i)
		sum += weights[i]
	}
	sizes := make([]int64, n)
	var given int64
	for i := range n {
		sizes[i] = total * weights[i] / sum
		given += sizes[i]
	}
	sizes[0] += total - given
	return sizes
}

// pushBig builds the large image's layers in parallel and pushes it.
func (p *pusher) pushBig(ctx context.Context, repoTag string, total int64, n int) (bigImage, error) {
	sizes := layerSizes(total, n)
	layers := make([]v1.Layer, n)
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, size := range sizes {
		g.Go(func() error {
			l, err := buildLayer(i, size)
			layers[i] = l
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return bigImage{}, err
	}
	var out bigImage
	for _, l := range layers {
		ml := l.(*memLayer)
		out.uncompressed += ml.uncompressed
		out.compressed += int64(len(ml.compressed))
	}

	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		return bigImage{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return bigImage{}, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = linuxAMD64.OS, linuxAMD64.Architecture
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return bigImage{}, err
	}
	if out.digest, err = p.write(repoTag, img); err != nil {
		return bigImage{}, err
	}
	return out, nil
}
