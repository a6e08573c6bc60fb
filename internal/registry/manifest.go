package registry

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ClientImage is an image read from a registry, plus its flattened filesystem.
type ClientImage interface {
	v1.Image
	// Extract returns the flattened filesystem as a tar stream, with
	// whiteouts and opaque directories applied. The caller must close it.
	Extract() io.ReadCloser
}

// ManifestResult is a manifest as the registry served it.
type ManifestResult interface {
	// GetDescriptor returns the manifest's media type, size and digest.
	GetDescriptor() Descriptor
	// GetManifest parses an image manifest. It fails on an index.
	GetManifest() (*Manifest, error)
	// GetIndexManifest parses an index. It fails on an image manifest.
	GetIndexManifest() (*IndexManifest, error)
	// GetRaw returns the bytes exactly as served. Callers must not modify them.
	GetRaw() []byte
}

// NewManifestResult wraps raw manifest bytes with their descriptor. It does
// not parse them; the Get… accessors do.
func NewManifestResult(raw []byte, mediaType types.MediaType, digest v1.Hash) ManifestResult {
	return &manifestResult{raw: raw, desc: Descriptor{mediaType: mediaType, size: int64(len(raw)), digest: digest}}
}

type manifestResult struct {
	raw  []byte
	desc Descriptor
}

func (m *manifestResult) GetDescriptor() Descriptor { return m.desc }
func (m *manifestResult) GetRaw() []byte            { return m.raw }

func (m *manifestResult) GetManifest() (*Manifest, error) {
	if m.desc.mediaType.IsIndex() {
		return nil, fmt.Errorf("manifest %s is an index (%s)", m.desc.digest, m.desc.mediaType)
	}
	mf, err := v1.ParseManifest(bytes.NewReader(m.raw))
	if err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w", m.desc.digest, err)
	}
	return &Manifest{m: mf}, nil
}

func (m *manifestResult) GetIndexManifest() (*IndexManifest, error) {
	if !m.desc.mediaType.IsIndex() {
		return nil, fmt.Errorf("manifest %s is not an index (%s)", m.desc.digest, m.desc.mediaType)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(m.raw))
	if err != nil {
		return nil, fmt.Errorf("parse index %s: %w", m.desc.digest, err)
	}
	return &IndexManifest{m: im}, nil
}

// Descriptor describes content by media type, size and digest.
type Descriptor struct {
	mediaType    types.MediaType
	size         int64
	digest       v1.Hash
	platform     *v1.Platform
	artifactType string
	annotations  map[string]string
}

func descriptorOf(d v1.Descriptor) Descriptor {
	return Descriptor{mediaType: d.MediaType, size: d.Size, digest: d.Digest, platform: d.Platform,
		artifactType: d.ArtifactType, annotations: d.Annotations}
}

// GetMediaType returns the media type; IsIndex tells an index apart.
func (d Descriptor) GetMediaType() types.MediaType { return d.mediaType }

// GetSize returns the size in bytes.
func (d Descriptor) GetSize() int64 { return d.size }

// GetDigest returns the content digest.
func (d Descriptor) GetDigest() v1.Hash { return d.digest }

// GetPlatform returns the platform of an index entry, or nil.
func (d Descriptor) GetPlatform() *v1.Platform { return d.platform }

// GetArtifactType returns the artifact type of a referrer, or "".
func (d Descriptor) GetArtifactType() string { return d.artifactType }

// GetAnnotations returns the descriptor's annotations. Callers must not
// modify them.
func (d Descriptor) GetAnnotations() map[string]string { return d.annotations }

// Manifest is a parsed image manifest.
type Manifest struct{ m *v1.Manifest }

// GetSchemaVersion returns the schema version (2).
func (m *Manifest) GetSchemaVersion() int64 { return m.m.SchemaVersion }

// GetConfig returns the config blob's descriptor.
func (m *Manifest) GetConfig() Descriptor { return descriptorOf(m.m.Config) }

// GetLayers returns the layers' descriptors, bottom first.
func (m *Manifest) GetLayers() []Descriptor {
	out := make([]Descriptor, len(m.m.Layers))
	for i, l := range m.m.Layers {
		out[i] = descriptorOf(l)
	}
	return out
}

// GetAnnotations returns the manifest's annotations.
func (m *Manifest) GetAnnotations() map[string]string { return m.m.Annotations }

// IndexManifest is a parsed image index (or Docker manifest list).
type IndexManifest struct{ m *v1.IndexManifest }

// GetSchemaVersion returns the schema version (2).
func (m *IndexManifest) GetSchemaVersion() int64 { return m.m.SchemaVersion }

// GetManifests returns the index entries, each with its platform.
func (m *IndexManifest) GetManifests() []Descriptor {
	out := make([]Descriptor, len(m.m.Manifests))
	for i, d := range m.m.Manifests {
		out[i] = descriptorOf(d)
	}
	return out
}
