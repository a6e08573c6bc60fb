package handlers

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
)

// platformHeader names the platform served when a request met an index.
const platformHeader = "X-Regapi-Platform"

// resolved is the manifest a request is answered from.
type resolved struct {
	// manifest is the manifest served: the one at the reference, or the
	// index child for the platform.
	manifest registry.ManifestResult
	// platform is the platform picked from an index; nil when the
	// reference named no index or no platform applied.
	platform *v1.Platform
}

// resolveManifest fetches the manifest at t's reference. When it is an index
// and want is set, it fetches the child for want by digest. Children are
// picked here, not by the client, so that each lookup is keyed by a digest
// and the index itself is fetched (and cached) once for every platform.
// When the request named want (explicit) and the manifest is a single
// image, the image's own platform (from its config) must match want:
// PLATFORM_UNKNOWN otherwise, never a silently different image.
func resolveManifest(ctx context.Context, t repoTarget, want *v1.Platform, explicit bool) (resolved, error) {
	c := t.client()
	m, err := c.GetManifest(ctx, t.clientRef())
	if err != nil {
		return resolved{}, fmt.Errorf("get manifest %s: %w", t.clientRef(), err)
	}
	if want == nil {
		return resolved{manifest: m}, nil
	}
	if !m.GetDescriptor().GetMediaType().IsIndex() {
		if !explicit {
			return resolved{manifest: m}, nil
		}
		return imageForPlatform(ctx, t, m, *want)
	}
	idx, err := m.GetIndexManifest()
	if err != nil {
		return resolved{}, fmt.Errorf("read index %s: %w", t.clientRef(), err)
	}
	child, err := pickPlatform(idx.GetManifests(), *want)
	if err != nil {
		return resolved{}, err
	}
	ref := "@" + child.GetDigest().String()
	cm, err := c.GetManifest(ctx, ref)
	if err != nil {
		return resolved{}, fmt.Errorf("get manifest %s for %s: %w", ref, want.String(), err)
	}
	p := *want
	if cp := child.GetPlatform(); cp != nil {
		p = v1.Platform{OS: cp.OS, Architecture: cp.Architecture, Variant: cp.Variant}
	}
	return resolved{manifest: cm, platform: &p}, nil
}

// imageForPlatform answers an explicit platform on a single image: the
// image when its config's platform matches want by the one rule
// (registry.PickPlatform), else PLATFORM_UNKNOWN listing the image's own.
func imageForPlatform(ctx context.Context, t repoTarget, m registry.ManifestResult, want v1.Platform) (resolved, error) {
	digest := m.GetDescriptor().GetDigest().String()
	cf, err := t.client().GetImageConfig(ctx, "@"+digest)
	if err != nil {
		return resolved{}, fmt.Errorf("config of %s, for its platform: %w", digest, err)
	}
	own := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	var platforms []*v1.Platform
	if own.OS != "" && own.Architecture != "" {
		platforms = append(platforms, &own)
	}
	if _, err := registry.PickPlatform(platforms, want); err != nil {
		return resolved{}, err
	}
	return resolved{manifest: m, platform: &own}, nil
}

// imageLayers returns the layers of the image at digest in t's repository,
// the input of the extract and files routes.
func imageLayers(ctx context.Context, t repoTarget, digest string) ([]v1.Layer, error) {
	img, err := t.client().GetImage(ctx, "@"+digest)
	if err != nil {
		return nil, fmt.Errorf("get image %s: %w", digest, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("layers of %s: %w", digest, err)
	}
	return layers, nil
}

// pickPlatform returns the index entry for want (registry.PickPlatform).
func pickPlatform(entries []registry.Descriptor, want v1.Platform) (registry.Descriptor, error) {
	platforms := make([]*v1.Platform, len(entries))
	for i, d := range entries {
		platforms[i] = d.GetPlatform()
	}
	i, err := registry.PickPlatform(platforms, want)
	if err != nil {
		return registry.Descriptor{}, err
	}
	return entries[i], nil
}

// platformString is os/arch[/variant], without v1.Platform.String's
// os.version suffix.
func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}
