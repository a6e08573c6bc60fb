package extract

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/regapi/regapi/internal/bombtest"
)

// benchImage is a generated image: gzip layers of files whose contents
// compress about 2.5:1, like typical binaries and libraries.
type benchImage struct {
	layers     []v1.Layer
	img        v1.Image
	outBytes   int64 // size of the flattened tar
	compressed int64
}

var (
	benchMu     sync.Mutex
	benchImages = map[string]*benchImage{}
)

// makeBenchImage builds (once per shape) n layers of about perLayer
// uncompressed bytes each; the upper layers replace some lower files.
func makeBenchImage(tb testing.TB, n int, perLayer int64, level int) *benchImage {
	tb.Helper()
	key := fmt.Sprint(n, perLayer, level)
	benchMu.Lock()
	defer benchMu.Unlock()
	if bi, ok := benchImages[key]; ok {
		return bi
	}
	src := rand.NewChaCha8([32]byte{1})
	r := rand.New(src)
	words := []byte("the quick brown fox jumps over the lazy dog lorem ipsum dolor sit amet ")
	text := bytes.Repeat(words, 8192/len(words)+len(words)) // any 4 KiB window from any start
	bi := &benchImage{}
	for l := range n {
		var tarBuf bytes.Buffer
		tw := tar.NewWriter(&tarBuf)
		for i := 0; int64(tarBuf.Len()) < perLayer; i++ {
			size := 4<<10 + r.IntN(1<<20)
			body := make([]byte, size)
			for off := 0; off < size; off += 4096 {
				chunk := body[off:min(off+4096, size)]
				if r.IntN(5) < 2 {
					_, _ = src.Read(chunk) // ChaCha8.Read always fills chunk
				} else {
					start := (off + l) % len(words)
					copy(chunk, text[start:start+len(chunk)])
				}
			}
			// Names overlap across layers so that upper files shadow lower ones.
			name := fmt.Sprintf("usr/lib/d%d/f%d", i%16, i+l*(i%3))
			if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size), ModTime: epoch}); err != nil {
				tb.Fatal(err)
			}
			if _, err := tw.Write(body); err != nil {
				tb.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			tb.Fatal(err)
		}
		var gz bytes.Buffer
		zw, err := gzip.NewWriterLevel(&gz, level)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := zw.Write(tarBuf.Bytes()); err != nil {
			tb.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			tb.Fatal(err)
		}
		bi.layers = append(bi.layers, blobLayer(tb, gz.Bytes(), types.DockerLayer, nil))
		bi.compressed += int64(gz.Len())
	}
	img, err := mutate.AppendLayers(empty.Image, bi.layers...)
	if err != nil {
		tb.Fatal(err)
	}
	bi.img = img
	if _, isBench := tb.(*testing.B); isBench {
		cw := &countWriter{}
		if err := Flatten(context.Background(), cw, bi.layers); err != nil {
			tb.Fatal(err)
		}
		bi.outBytes = cw.n
	}
	benchImages[key] = bi
	return bi
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// The benchmark image: 4 layers of 48 MiB, 192 MiB uncompressed.
const benchLayers, benchPerLayer = 4, 48 << 20

func BenchmarkFlatten(b *testing.B) {
	bi := makeBenchImage(b, benchLayers, benchPerLayer, gzip.DefaultCompression)
	b.SetBytes(bi.outBytes)
	b.ReportAllocs()
	for b.Loop() {
		if err := Flatten(context.Background(), io.Discard, bi.layers); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMutateExtract(b *testing.B) {
	bi := makeBenchImage(b, benchLayers, benchPerLayer, gzip.DefaultCompression)
	b.SetBytes(bi.outBytes)
	b.ReportAllocs()
	for b.Loop() {
		rc := mutate.Extract(bi.img)
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		mustClose(b, rc)
	}
}

// BenchmarkFlattenVsMutateExtract runs both on the same image, alternating,
// and reports each one's MB/s and their ratio from the same run.
func BenchmarkFlattenVsMutateExtract(b *testing.B) {
	sideBySide(b, makeBenchImage(b, benchLayers, benchPerLayer, gzip.DefaultCompression))
}

// BenchmarkRemoteFlattenVsMutateExtract is the same through an in-process
// registry over loopback HTTP, blobs verified against their digests: what
// the extract endpoint and `crane export` do.
func BenchmarkRemoteFlattenVsMutateExtract(b *testing.B) {
	local := makeBenchImage(b, benchLayers, benchPerLayer, gzip.DefaultCompression)
	img, _ := pushed(b, local.img)
	layers, err := img.Layers()
	if err != nil {
		b.Fatal(err)
	}
	sideBySide(b, &benchImage{layers: layers, img: img, outBytes: local.outBytes, compressed: local.compressed})
}

func sideBySide(b *testing.B, bi *benchImage) {
	var ours, theirs, oursCPU, theirsCPU time.Duration
	for b.Loop() {
		start, cpu := time.Now(), cpuTime()
		if err := Flatten(context.Background(), io.Discard, bi.layers); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		oursCPU += cpuTime() - cpu
		start, cpu = time.Now(), cpuTime()
		rc := mutate.Extract(bi.img)
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		mustClose(b, rc)
		theirs += time.Since(start)
		theirsCPU += cpuTime() - cpu
	}
	mbps := func(d time.Duration) float64 { return float64(bi.outBytes) * float64(b.N) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(ours), "flatten-MB/s")
	b.ReportMetric(mbps(theirs), "mutate-MB/s")
	b.ReportMetric(mbps(ours)/mbps(theirs), "speedup")
	// CPU seconds per GB written: independent of how busy the machine is.
	b.ReportMetric(oursCPU.Seconds()/(float64(bi.outBytes)*float64(b.N)/1e9), "flatten-cpu-s/GB")
	b.ReportMetric(theirsCPU.Seconds()/(float64(bi.outBytes)*float64(b.N)/1e9), "mutate-cpu-s/GB")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFlattenPeakHeap reports the highest HeapInuse above the starting
// point seen while flattening, sampled every millisecond.
func BenchmarkFlattenPeakHeap(b *testing.B) {
	benchPeak(b, makeBenchImage(b, benchLayers, benchPerLayer, gzip.DefaultCompression))
}

// BenchmarkFlattenPeakHeap1GiB is the same on a 1 GiB image (4 layers of
// 256 MiB); building it takes a while and about 1.5 GiB of memory.
func BenchmarkFlattenPeakHeap1GiB(b *testing.B) {
	benchPeak(b, makeBenchImage(b, 4, 256<<20, gzip.BestSpeed))
}

// benchPeak reports the heap, not the RSS: in a benchmark the process keeps
// the pages freed while building the image, so its RSS does not move; the
// server's RSS is measured end to end instead.
func benchPeak(b *testing.B, bi *benchImage) {
	b.SetBytes(bi.outBytes)
	var peak uint64
	for b.Loop() {
		p, err := peakHeap(func() error { return Flatten(context.Background(), io.Discard, bi.layers) })
		if err != nil {
			b.Fatal(err)
		}
		peak = max(peak, p)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// peakHeap runs f and returns the highest HeapInuse growth seen meanwhile
// (see bombtest.PeakHeap).
func peakHeap(f func() error) (uint64, error) { return bombtest.PeakHeap(f) }
