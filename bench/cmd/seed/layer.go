package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// memLayer is a gzip layer held in memory with digests computed once while
// it was built, so that pushing it never decompresses it again.
type memLayer struct {
	compressed   []byte
	digest       v1.Hash
	diffID       v1.Hash
	uncompressed int64
}

func newMemLayer(compressed, diffSum []byte, uncompressed int64) *memLayer {
	sum := sha256.Sum256(compressed)
	return &memLayer{
		compressed:   compressed,
		digest:       v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])},
		diffID:       v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diffSum)},
		uncompressed: uncompressed,
	}
}

var _ v1.Layer = (*memLayer)(nil)

// Digest is the sha256 of the compressed bytes.
func (l *memLayer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID is the sha256 of the uncompressed tar.
func (l *memLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Compressed returns the gzip bytes.
func (l *memLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.compressed)), nil
}

// Uncompressed returns the tar.
func (l *memLayer) Uncompressed() (io.ReadCloser, error) {
	return gzip.NewReader(bytes.NewReader(l.compressed))
}

// Size is the compressed size.
func (l *memLayer) Size() (int64, error) { return int64(len(l.compressed)), nil }

// MediaType is the OCI gzip layer type.
func (l *memLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
