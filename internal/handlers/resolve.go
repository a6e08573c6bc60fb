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
func resolveManifest(ctx context.Context, t repoTarget, want *v1.Platform) (resolved, error) {
	c := t.client()
	m, err := c.GetManifest(ctx, t.clientRef())
	if err != nil {
		return resolved{}, fmt.Errorf("get manifest %s: %w", t.clientRef(), err)
	}
	if want == nil || !m.GetDescriptor().GetMediaType().IsIndex() {
		return resolved{manifest: m}, nil
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

// pickPlatform returns the index entry for want: an exact os/arch/variant
// match first, then one that differs only by a variant want leaves open
// (or arm64's implied v8).
func pickPlatform(entries []registry.Descriptor, want v1.Platform) (registry.Descriptor, error) {
	for _, loose := range []bool{false, true} {
		for _, d := range entries {
			if p := d.GetPlatform(); p != nil && platformMatches(*p, want, loose) {
				return d, nil
			}
		}
	}
	var available []v1.Platform
	for _, d := range entries {
		// Attestation manifests (buildkit) carry unknown/unknown.
		if p := d.GetPlatform(); p != nil && p.OS != "unknown" {
			available = append(available, *p)
		}
	}
	return registry.Descriptor{}, &registry.PlatformNotFoundError{Platform: want, Available: available}
}

func platformMatches(got, want v1.Platform, loose bool) bool {
	if got.OS != want.OS || got.Architecture != want.Architecture {
		return false
	}
	if got.Variant == want.Variant {
		return true
	}
	if !loose {
		return false
	}
	if want.Variant == "" {
		return true
	}
	// linux/arm64 and linux/arm64/v8 are the same platform.
	return got.Architecture == "arm64" && (got.Variant == "" || got.Variant == "v8") && want.Variant == "v8"
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
