package handlers

import (
	"bytes"
	"context"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

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
	index     bool
	// created is the config's (an index: the newest child's); zero when
	// nothing says.
	created time.Time
	// imgSize is config plus layers as the manifest lists them; hasSize is
	// false for an index (each platform downloads its own) and when the
	// manifest cannot be read as an image manifest.
	imgSize int64
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
	s := &imageSummary{digest: digest, mediaType: string(desc.GetMediaType()), index: true}
	idx, err := m.GetIndexManifest()
	if err != nil {
		// An index that does not parse says nothing more.
		return s, nil
	}
	for i, d := range idx.GetManifests() {
		cd := d.GetDigest().String()
		cs := &imageSummary{digest: cd, mediaType: string(d.GetMediaType()), index: d.GetMediaType().IsIndex()}
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
	s.imgSize, s.hasSize = cfg.GetSize(), cfg.GetSize() >= 0
	for _, l := range s.layers {
		if l.GetSize() < 0 || s.imgSize > (1<<62)-l.GetSize() {
			s.hasSize = false
			break
		}
		s.imgSize += l.GetSize()
	}
	if !s.hasSize {
		s.imgSize = 0
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

// Media types of image configs: OCI's and Docker's (what go-containerregistry
// calls types.OCIConfigJSON and types.DockerConfigJSON).
const (
	ociConfigType    = "application/vnd.oci.image.config.v1+json"
	dockerConfigType = "application/vnd.docker.container.image.v1+json"
)

// isImageConfig reports whether mt is an image config's media type.
func isImageConfig[T ~string](mt T) bool {
	return string(mt) == ociConfigType || string(mt) == dockerConfigType
}

// isIndex reports whether s summarizes an index.
func (s *imageSummary) isIndex() bool { return s.index }

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

// Bounds of the summary memo. A summary holds a parsed config (a few KiB
// with its history and env) and its layers' descriptors; 16 MiB keeps the
// rows of several thousand images, a dashboard's working set.
const (
	summaryEntries = 16384
	summaryBytes   = 16 << 20
)

// summaryMemo remembers image summaries by registry, repository and
// digest. What a digest names never changes, so an entry is never stale
// and needs no invalidation; it only saves parsing the same manifests and
// configs again (about two thirds of a warm table's CPU in
// BenchmarkImageTable). Every request still resolves its tags through the
// client, so TTLs and purges decide which digests a table shows.
// Insight.RowsComputed counts its misses.
type summaryMemo struct {
	*sizedLRU[*imageSummary]
}

// newSummaryMemo returns an empty memo; evicted, if not nil, is called for
// each summary evicted to stay within the bounds.
func newSummaryMemo(evicted func()) *summaryMemo {
	return &summaryMemo{newSizedLRU[*imageSummary](summaryEntries, summaryBytes, evicted)}
}

// size estimates the summary's memory: the config's strings, the layers,
// the children, and the structures around them.
func (s *imageSummary) size() int {
	n := 256 + len(s.digest) + len(s.mediaType) + 96*len(s.layers)
	if cf := s.config; cf != nil {
		n += 512 + 48*len(cf.History) + 16*len(cf.RootFS.DiffIDs)*5
		for _, h := range cf.History {
			n += len(h.CreatedBy) + len(h.Comment) + len(h.Author)
		}
		for _, e := range cf.Config.Env {
			n += 16 + len(e)
		}
		for k, v := range cf.Config.Labels {
			n += 48 + len(k) + len(v)
		}
		for _, a := range append(cf.Config.Entrypoint, cf.Config.Cmd...) {
			n += 16 + len(a)
		}
	}
	for _, c := range s.children {
		n += c.size()
	}
	return n
}
