package main

import (
	"context"
	"fmt"
	"net/http"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// pusher writes images to one plain-HTTP registry over a shared transport.
type pusher struct {
	host string
	opts []remote.Option
}

func newPusher(ctx context.Context, host string) (*pusher, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	return &pusher{host: host, opts: []remote.Option{remote.WithContext(ctx), remote.WithTransport(tr)}}, nil
}

// ref parses repoTag ("repo:tag") on the registry, as plain HTTP.
func (p *pusher) ref(repoTag string) (name.Reference, error) {
	return name.ParseReference(p.host+"/"+repoTag, name.Insecure)
}

// smallImage is an OCI image of layer with a config that differs by labels
// and platform, so each call with other labels is another manifest.
func smallImage(layer v1.Layer, labels map[string]string, plat v1.Platform) (v1.Image, error) {
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Config.Labels = labels
	cf.Config.Cmd = []string{"/bin/sh"}
	return mutate.ConfigFile(img, cf)
}

var linuxAMD64 = v1.Platform{OS: "linux", Architecture: "amd64"}

// write pushes img as repoTag and returns its digest.
func (p *pusher) write(repoTag string, img v1.Image) (v1.Hash, error) {
	ref, err := p.ref(repoTag)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(ref, img, p.opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", repoTag, err)
	}
	return img.Digest()
}

// pushSmall pushes a one-layer image and returns its digest.
func (p *pusher) pushSmall(_ context.Context, repoTag string, layer v1.Layer, labels map[string]string) (v1.Hash, error) {
	img, err := smallImage(layer, labels, linuxAMD64)
	if err != nil {
		return v1.Hash{}, err
	}
	return p.write(repoTag, img)
}

// pushTags pushes n tags t000… to repo, each a distinct manifest, so that
// every tag is a cache miss of its own.
func (p *pusher) pushTags(ctx context.Context, repo string, n int, layer v1.Layer) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(2 * runtime.GOMAXPROCS(0))
	for i := range n {
		tag := fmt.Sprintf("t%03d", i)
		g.Go(func() error {
			_, err := p.pushSmall(ctx, repo+":"+tag, layer, map[string]string{"tag": tag})
			return err
		})
	}
	return g.Wait()
}

// pushNested pushes n repositories two to five levels deep, one tag each.
func (p *pusher) pushNested(ctx context.Context, n int, layer v1.Layer) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(2 * runtime.GOMAXPROCS(0))
	for i := range n {
		repo := fmt.Sprintf("corpus/nested/team-%d/svc-%d", i%4, i)
		for d := range i % 4 {
			repo += fmt.Sprintf("/level-%d", d)
		}
		g.Go(func() error {
			_, err := p.pushSmall(ctx, repo+":v1", layer, map[string]string{"repo": repo})
			return err
		})
	}
	return g.Wait()
}

// pushIndex pushes an OCI index of three platforms and returns its digest.
func (p *pusher) pushIndex(_ context.Context, repoTag string, layer v1.Layer) (v1.Hash, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, plat := range []v1.Platform{linuxAMD64, {OS: "linux", Architecture: "arm64"}, {OS: "linux", Architecture: "arm", Variant: "v7"}} {
		img, err := smallImage(layer, map[string]string{"platform": plat.String()}, plat)
		if err != nil {
			return v1.Hash{}, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &plat}})
	}
	ref, err := p.ref(repoTag)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.WriteIndex(ref, idx, p.opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", repoTag, err)
	}
	return idx.Digest()
}
