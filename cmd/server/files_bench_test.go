package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// benchLayer is a gzip layer built in memory with its digests computed
// once, so that pushing it decompresses nothing.
type benchLayer struct {
	gz             []byte
	digest, diffID v1.Hash
}

func (l *benchLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *benchLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *benchLayer) Size() (int64, error)                { return int64(len(l.gz)), nil }
func (l *benchLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (l *benchLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.gz)), nil
}
func (l *benchLayer) Uncompressed() (io.ReadCloser, error) {
	return gzip.NewReader(bytes.NewReader(l.gz))
}

func sha(b []byte) v1.Hash {
	s := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}

// newBenchLayer tars files (name, size of random bytes; seeded) and
// gzips the tar.
func newBenchLayer(b *testing.B, seed uint64, files map[string]int) *benchLayer {
	b.Helper()
	r := rand.New(rand.NewPCG(seed, 16))
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for name, size := range files {
		body := make([]byte, size)
		for i := 0; i+8 <= len(body); i += 8 {
			v := r.Uint64()
			for k := range 8 {
				body[i+k] = byte(v >> (8 * k)) //nolint:gosec // G115: taking one byte is the point
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size), ModTime: time.Unix(1700000000, 0)}); err != nil {
			b.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			b.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := zw.Write(tb.Bytes()); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return &benchLayer{gz: gz.Bytes(), digest: sha(gz.Bytes()), diffID: sha(tb.Bytes())}
}

// BenchmarkFilesRepeat measures the files targets on the image they are
// stated for: 256 MiB of random bytes in 4 gzip layers, a 64 MiB file in
// the bottom one, a directory (/shared) that every layer adds to. regapi
// runs as run() wires it, with --layer-cache-dir, in front of the CNCF
// distribution registry (in-memory storage), over loopback HTTP.
//
// Each sub-benchmark starts a fresh regapi on an empty cache directory,
// times the first request (first-ms: it builds the file index and fills
// the layer cache) and then repeats it: ns/op is a repeat, x-faster is
// first-ms over a repeat, blob-gets/op the registry's blob GETs per repeat.
// The no-layer-cache variants run without --layer-cache-dir (the file
// index alone). "extract" also times crane export's code (mutate.Extract over
// remote.Image, to io.Discard) and reports x-crane, crane's time over a
// repeat's.
//
//	go test -run '^$' -bench FilesRepeat -benchtime 20x ./cmd/server/
func BenchmarkFilesRepeat(b *testing.B) {
	dist := registrytest.StartDistribution(b, nil)
	const mib = 1 << 20
	layers := []v1.Layer{
		newBenchLayer(b, 0, map[string]int{"data/big.bin": 64*mib - 4096, "shared/l0": 1000}),
		newBenchLayer(b, 1, map[string]int{"fill/l1.bin": 64*mib - 4096, "shared/l1": 1000}),
		newBenchLayer(b, 2, map[string]int{"fill/l2.bin": 64*mib - 4096, "shared/l2": 1000}),
		newBenchLayer(b, 3, map[string]int{"fill/l3.bin": 64*mib - 4096, "shared/l3": 1000}),
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		b.Fatal(err)
	}
	registrytest.Push(b, dist.Host+"/bench/files:v1", img)
	blobGets := func() int { return dist.CountRequests(http.MethodGet, "/v2/bench/files/blobs/") }
	c := &http.Client{Timeout: 5 * time.Minute}

	for _, tc := range []struct {
		name, path string
		noDisk     bool
	}{
		{"listing", "files/v1/shared", false},
		{"file-64MiB-bottom", "files/v1/data/big.bin", false},
		{"extract", "extract/v1", false},
		{"no-layer-cache/listing", "files/v1/shared", true},
		{"no-layer-cache/file-64MiB-bottom", "files/v1/data/big.bin", true},
		{"no-layer-cache/extract", "extract/v1", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			args := []string{"--listen", "127.0.0.1:0", "--upstream", "r=http://" + dist.Host, "--allow-anonymous", "--log-level", "warn"}
			if !tc.noDisk {
				args = append(args, "--layer-cache-dir", b.TempDir(), "--layer-cache-max-bytes", "1GiB")
			}
			r := startRun(b, nil, args...)
			url := r.base + "/api/v1/repos/r/bench/files/-/" + tc.path
			fetch := func() int64 {
				resp, err := c.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				n, err := io.Copy(io.Discard, resp.Body)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("%s = %d, %v", tc.path, resp.StatusCode, err)
				}
				return n
			}
			start := time.Now()
			fetch()
			first := time.Since(start)

			var crane time.Duration
			if tc.path == "extract/v1" {
				crane = craneExportTime(b, dist.Host+"/bench/files:v1")
			}
			gets := -blobGets()
			begin := time.Now()
			n := 0
			for b.Loop() {
				fetch()
				n++
			}
			repeat := time.Since(begin) / time.Duration(n)
			gets += blobGets()
			b.ReportMetric(float64(first.Milliseconds()), "first-ms")
			b.ReportMetric(float64(first)/float64(repeat), "x-faster")
			b.ReportMetric(float64(gets)/float64(n), "blob-gets/op")
			if crane > 0 {
				b.ReportMetric(float64(crane.Milliseconds()), "crane-ms")
				b.ReportMetric(float64(crane)/float64(repeat), "x-crane")
			}
		})
	}
}

// craneExportTime is what `crane export` takes on ref: mutate.Extract over
// remote.Image, written to io.Discard; the median of three runs.
func craneExportTime(b *testing.B, ref string) time.Duration {
	b.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	var runs []time.Duration
	for range 3 {
		start := time.Now()
		img, err := remote.Image(r)
		if err != nil {
			b.Fatal(err)
		}
		rc := mutate.Extract(img)
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(fmt.Errorf("crane export: %w", err))
		}
		_ = rc.Close() // read-only; the copy reports read errors
		runs = append(runs, time.Since(start))
	}
	for i := range runs {
		for j := i + 1; j < len(runs); j++ {
			if runs[j] < runs[i] {
				runs[i], runs[j] = runs[j], runs[i]
			}
		}
	}
	return runs[1]
}
