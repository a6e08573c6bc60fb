package handlers

import (
	"bytes"
	"context"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/registry"
)

// Bounds on what one summary reads from registry content, which is
// hostile until proven otherwise.
const (
	// maxSummaryChildren is how many entries of an index are summarized
	// (their manifests and configs read); real multi-arch indexes hold a
	// dozen or two (platforms plus attestations). Entries beyond it are
	// listed from the index alone.
	maxSummaryChildren = 64
	// maxSummaryConfig is the largest config blob read; image configs are
	// a few KiB (history and env included), 1 MiB is far beyond any.
	maxSummaryConfig = 1 << 20
)

// imageSummary is what a manifest digest says about its image or images,
// worked out from manifests and configs, all addressed by digest: it never
// changes for a digest.
type imageSummary struct {
	digest    string
	mediaType string
	// created is the config's (an index: the newest child's); zero when
	// nothing says.
	created time.Time
	// size is config plus layers as the manifest lists them; hasSize is
	// false for an index (each platform downloads its own) and when the
	// manifest cannot be read as an image manifest.
	size    int64
	hasSize bool
	// config is the parsed image config, nil for an index and for
	// artifacts whose config is not an image config.
	config *v1.ConfigFile
	// layers are an image manifest's layers.
	layers []registry.Descriptor
	// platform is an index entry's platform, as the index names it.
	platform *v1.Platform
	// children are an index's entries, each summarized (up to
	// maxSummaryChildren) or described by its descriptor alone.
	children []*imageSummary
}

// summarize reads the manifest at digest and, for an image, its config; for
// an index, every child's (up to maxSummaryChildren).
func summarize(ctx context.Context, c registry.Client, digest string) (*imageSummary, error) {
	m, err := c.GetManifest(ctx, "@"+digest)
	if err != nil {
		return nil, fmt.Errorf("get manifest %s: %w", digest, err)
	}
	desc := m.GetDescriptor()
	if !desc.GetMediaType().IsIndex() {
		return summarizeImage(ctx, c, digest, m)
	}
	s := &imageSummary{digest: digest, mediaType: string(desc.GetMediaType())}
	idx, err := m.GetIndexManifest()
	if err != nil {
		// An index that does not parse says nothing more.
		return s, nil
	}
	for i, d := range idx.GetManifests() {
		cd := d.GetDigest().String()
		cs := &imageSummary{digest: cd, mediaType: string(d.GetMediaType())}
		if i < maxSummaryChildren && !d.GetMediaType().IsIndex() {
			cm, err := c.GetManifest(ctx, "@"+cd)
			if err != nil {
				return nil, fmt.Errorf("get manifest %s of index %s: %w", cd, digest, err)
			}
			if cs, err = summarizeImage(ctx, c, cd, cm); err != nil {
				return nil, err
			}
		}
		cs.platform = d.GetPlatform()
		if cs.created.After(s.created) {
			s.created = cs.created
		}
		s.children = append(s.children, cs)
	}
	return s, nil
}

// summarizeImage summarizes an image manifest m (with digest digest).
func summarizeImage(ctx context.Context, c registry.Client, digest string, m registry.ManifestResult) (*imageSummary, error) {
	s := &imageSummary{digest: digest, mediaType: string(m.GetDescriptor().GetMediaType())}
	mf, err := m.GetManifest()
	if err != nil {
		// Schema 1, or not a manifest at all: nothing to add.
		return s, nil
	}
	cfg := mf.GetConfig()
	s.layers = mf.GetLayers()
	s.size, s.hasSize = cfg.GetSize(), cfg.GetSize() >= 0
	for _, l := range s.layers {
		if l.GetSize() < 0 || s.size > (1<<62)-l.GetSize() {
			s.hasSize = false
			break
		}
		s.size += l.GetSize()
	}
	if !s.hasSize {
		s.size = 0
	}
	if !isImageConfig(cfg.GetMediaType()) || cfg.GetSize() > maxSummaryConfig {
		// An artifact's config (a signature's, an SBOM's) holds no date
		// or platform; one over the bound is not read.
		return s, nil
	}
	blob, err := c.GetConfigBlob(ctx, "@"+digest)
	if err != nil {
		return nil, fmt.Errorf("get config of %s: %w", digest, err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(blob))
	if err != nil {
		// A config that does not parse says nothing.
		return s, nil
	}
	s.config = cf
	s.created = cf.Created.Time
	return s, nil
}

// isImageConfig reports whether mt is an image config's media type.
func isImageConfig(mt types.MediaType) bool {
	return mt == types.OCIConfigJSON || mt == types.DockerConfigJSON
}

// isIndex reports whether s summarizes an index.
func (s *imageSummary) isIndex() bool {
	return types.MediaType(s.mediaType).IsIndex()
}

// has reports whether s is digest or, for an index, has it as an entry.
func (s *imageSummary) has(digest string) bool {
	if s.digest == digest {
		return true
	}
	for _, c := range s.children {
		if c.digest == digest {
			return true
		}
	}
	return false
}

// ownPlatform is the platform of an image: its index entry's, else its
// config's; nil when neither says (an artifact).
func (s *imageSummary) ownPlatform() *v1.Platform {
	if s.platform != nil {
		return s.platform
	}
	if s.config != nil && s.config.OS != "" {
		return &v1.Platform{OS: s.config.OS, Architecture: s.config.Architecture, Variant: s.config.Variant}
	}
	return nil
}

// isAttestation reports whether an index entry is not a runnable image:
// buildkit stores provenance and SBOMs as entries of platform unknown/unknown.
func isAttestation(p *v1.Platform) bool {
	return p != nil && p.OS == "unknown"
}

// formatCreated is the JSON form of a date: RFC 3339 in UTC, or "" (absent)
// for the zero time.
func formatCreated(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
