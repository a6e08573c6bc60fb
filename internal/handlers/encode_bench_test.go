package handlers

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// benchManifest is an OCI image manifest of n layers, as a registry stores
// it (compact, as go-containerregistry pushes it).
func benchManifest(b *testing.B, n int) []byte {
	b.Helper()
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: 1234, Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", 1)}},
	}
	for i := range n {
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.OCILayer, Size: int64(10<<20 + i), Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", i+2)}})
	}
	raw, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkEncodeManifest compares the two ways a cached manifest leaves
// the server: the JSON envelope of GET …/manifests/{ref} (json.Marshal
// re-validates and compacts the embedded manifest on every answer) and
// ?raw=true (the stored bytes as they are). The difference is what keeping
// the encoded envelope with the cache entry would save per hit.
func BenchmarkEncodeManifest(b *testing.B) {
	for _, layers := range []int{1, 8, 40} {
		raw := benchManifest(b, layers)
		digest := "sha256:" + fmt.Sprintf("%064x", 99)
		resp := manifestResponse{
			Registry: "bench", Repository: "corpus/big", Reference: "latest", Digest: digest,
			MediaType: string(types.OCIManifestSchema1), Size: int64(len(raw)), Manifest: raw,
		}
		req := httptest.NewRequest(http.MethodGet, "/api/v1/repos/bench/corpus/big/-/manifests/latest", nil)
		logger := slog.New(slog.DiscardHandler)
		b.Run(fmt.Sprintf("envelope/%dlayers", layers), func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				respondJSON(w, req, logger, resp, digestETag(digest), cacheControlShort)
			}
			if w.status != http.StatusOK || w.n <= len(raw) {
				b.Fatalf("respondJSON = %d with %d bytes, want 200 with more than %d", w.status, w.n, len(raw))
			}
		})
		b.Run(fmt.Sprintf("raw/%dlayers", layers), func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				respondBytes(w, req, string(types.OCIManifestSchema1), raw, digestETag(digest), cacheControlShort)
			}
			if w.status != http.StatusOK || w.n != len(raw) {
				b.Fatalf("respondBytes = %d with %d bytes, want 200 with %d", w.status, w.n, len(raw))
			}
		})
	}
}
