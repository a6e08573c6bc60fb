package transfer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"regexp"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// digestName matches the file names `docker save` gives content it stores
// under its digest: "<hex>.json" configs (before Docker 25) and
// "blobs/sha256/<hex>" (since), and "sha256:<hex>" (go-containerregistry's
// tarball.Write).
var digestName = regexp.MustCompile(`^(?:blobs/sha256/([0-9a-f]{64})|([0-9a-f]{64})\.json|sha256:([0-9a-f]{64}))$`)

// maxZstdWindow caps the window a zstd layer may ask the decoder for (its
// memory); zstd's default levels use 8 MiB at most.
const maxZstdWindow = 128 << 20

// maxExpansion bounds how many bytes the layers of a docker archive may
// decompress to while they are verified, as a multiple of the archive's size,
// so that a decompression bomb costs bounded CPU time. Real layers shrink to
// a third or a tenth of their size; a hundredfold is far beyond that.
const maxExpansion = 100

// loadDockerArchive reads `docker save` output from ix and verifies it.
func loadDockerArchive(ix *tarIndex) (Artifact, error) {
	raw, err := ix.readFile("manifest.json", maxMetadataBytes)
	if err != nil {
		return Artifact{}, err
	}
	var m tarball.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return Artifact{}, invalidf("manifest.json: %v", err)
	}
	if len(m) != 1 {
		return Artifact{}, invalidf("manifest.json describes %d images, want exactly 1 (save one image per upload)", len(m))
	}
	desc := m[0]
	if desc.Config == "" {
		return Artifact{}, invalidf("manifest.json: no Config")
	}
	for _, p := range append([]string{desc.Config}, desc.Layers...) {
		if _, err := ix.lookup(p); err != nil {
			return Artifact{}, err
		}
	}

	cfg, err := ix.readFile(desc.Config, maxMetadataBytes)
	if err != nil {
		return Artifact{}, err
	}
	if err := checkDigestName(desc.Config, bytes.NewReader(cfg)); err != nil {
		return Artifact{}, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(cfg))
	if err != nil {
		return Artifact{}, invalidf("config %s: %v", desc.Config, err)
	}
	if n := len(cf.RootFS.DiffIDs); n != len(desc.Layers) {
		return Artifact{}, invalidf("manifest.json lists %d layers but the config %d diff_ids", len(desc.Layers), n)
	}
	budget := maxExpansion*ix.size + 1<<20
	for i, p := range desc.Layers {
		if err := verifyLayer(ix, p, cf.RootFS.DiffIDs[i], &budget); err != nil {
			return Artifact{}, err
		}
	}

	img, err := tarball.Image(func() (io.ReadCloser, error) {
		return io.NopCloser(io.NewSectionReader(ix.r, 0, ix.size)), nil
	}, nil)
	if err != nil {
		return Artifact{}, invalidf("docker archive: %v", err)
	}
	return Artifact{Image: img, Format: FormatDockerArchive}, nil
}

// verifyLayer checks that the layer file p decompresses to content with digest
// diffID and, when p is named by digest, that its bytes have that digest.
// budget is what the layers may still decompress to; it is decremented.
func verifyLayer(ix *tarIndex, p string, diffID v1.Hash, budget *int64) error {
	r, err := ix.open(p)
	if err != nil {
		return err
	}
	named := digestName.FindStringSubmatch(path.Clean(p))
	rawHash, err := v1.Hasher("sha256")
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(io.TeeReader(r, rawHash), copyHashBufSize)
	u, closeU, err := decompress(br)
	if err != nil {
		return invalidf("layer %s: %v", p, err)
	}
	defer closeU()
	uh, err := v1.Hasher(diffID.Algorithm)
	if err != nil {
		return invalidf("layer %s: diff_id %s: %v", p, diffID, err)
	}
	n, err := io.CopyBuffer(uh, io.LimitReader(u, *budget+1), make([]byte, copyHashBufSize))
	if err != nil {
		return invalidf("layer %s: %v", p, err)
	}
	if *budget -= n; *budget < 0 {
		return invalidf("layer %s: layers decompress to more than %d times the archive's size", p, maxExpansion)
	}
	if got := fmt.Sprintf("%x", uh.Sum(nil)); got != diffID.Hex {
		return invalidf("layer %s: content has diff_id %s:%s, the config says %s", p, diffID.Algorithm, got, diffID)
	}
	if named != nil {
		// Hash whatever the decompressor left unread (a gzip trailer).
		if _, err := io.Copy(io.Discard, br); err != nil {
			return invalidf("layer %s: %v", p, err)
		}
		if got := fmt.Sprintf("%x", rawHash.Sum(nil)); got != named[1]+named[2]+named[3] {
			return invalidf("%s: content has digest sha256:%s", p, got)
		}
	}
	return nil
}

// checkDigestName checks that a file named by digest has that digest.
func checkDigestName(p string, r io.Reader) error {
	named := digestName.FindStringSubmatch(path.Clean(p))
	if named == nil {
		return nil
	}
	h, _, err := v1.SHA256(r)
	if err != nil {
		return invalidf("%s: %v", p, err)
	}
	if h.Hex != named[1]+named[2]+named[3] {
		return invalidf("%s: content has digest %s", p, h)
	}
	return nil
}

// decompress returns the uncompressed content of a layer that is gzip,
// zstd or plain, detected by its magic bytes, and a function to release the
// decoder.
func decompress(br *bufio.Reader) (io.Reader, func(), error) {
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { _ = zr.Close() }, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		// One decoder goroutine per layer; the default would start one per
		// core and keep big windows around.
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}
