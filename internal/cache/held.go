package cache

import (
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
)

// heldManifest is a manifest as the cache holds it: the registry's answer
// plus its parsed form, worked out once, so that picking a platform or
// finding a config on a hit does not parse JSON again.
type heldManifest struct {
	m registry.ManifestResult

	once     sync.Once
	children []indexChild // an index's entries
	config   string       // an image manifest's config digest
	err      error        // parsing failed: the cache defers to the client
}

// indexChild is one entry of an index, as platform matching needs it.
type indexChild struct {
	platform *v1.Platform
	digest   string
}

func holdManifest(m registry.ManifestResult) *heldManifest { return &heldManifest{m: m} }

func (h *heldManifest) isIndex() bool { return h.m.GetDescriptor().GetMediaType().IsIndex() }

func (h *heldManifest) digest() string { return h.m.GetDescriptor().GetDigest().String() }

func (h *heldManifest) parse() {
	h.once.Do(func() {
		if h.isIndex() {
			idx, err := h.m.GetIndexManifest()
			if err != nil {
				h.err = err
				return
			}
			for _, d := range idx.GetManifests() {
				h.children = append(h.children, indexChild{platform: d.GetPlatform(), digest: d.GetDigest().String()})
			}
			return
		}
		mf, err := h.m.GetManifest()
		if err != nil {
			h.err = err
			return
		}
		h.config = mf.GetConfig().GetDigest().String()
	})
}

// childDigest picks p's manifest from an index by the one rule,
// registry.PickPlatform. It reports false for an image manifest, an
// unparsable index or no match.
func (h *heldManifest) childDigest(p *v1.Platform) (string, bool) {
	if p == nil {
		p = &registry.DefaultPlatform
	}
	h.parse()
	platforms := make([]*v1.Platform, len(h.children))
	for i, c := range h.children {
		platforms[i] = c.platform
	}
	i, err := registry.PickPlatform(platforms, *p)
	if err != nil {
		return "", false
	}
	return h.children[i].digest, true
}

// size estimates the raw bytes, their parsed form (about as large again)
// and the bookkeeping.
func (h *heldManifest) size() int64 {
	if h == nil || h.m == nil {
		return 0
	}
	return 2*int64(len(h.m.GetRaw())) + 256
}
