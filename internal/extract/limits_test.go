package extract

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// zeroLayer is a layer holding one file of n zero bytes, compressed as a
// bomb would be.
func zeroLayer(tb testing.TB, n int64, zst bool) v1.Layer {
	tb.Helper()
	var buf bytes.Buffer
	var zw io.WriteCloser
	mt := types.DockerLayer
	if zst {
		w, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
		if err != nil {
			tb.Fatal(err)
		}
		zw, mt = w, types.OCILayerZStd
	} else {
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
	}
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Size: n, Mode: 0o644}); err != nil {
		tb.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zeros)) {
		if _, err := tw.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return blobLayer(tb, buf.Bytes(), mt, nil)
}

func TestDecompressionLimits(t *testing.T) {
	zstdBomb := zeroLayer(t, 24<<20, true)
	gzipZeros := zeroLayer(t, 24<<20, false)
	tests := []struct {
		name    string
		layer   v1.Layer
		opts    []Option
		wantErr error
	}{
		{"zstd bomb, default ratio", zstdBomb, nil, ErrLimit},
		{"zstd bomb, ratio disabled", zstdBomb, []Option{WithMaxRatio(0)}, nil},
		{"gzip zeros, default ratio", gzipZeros, nil, nil},
		{"gzip zeros, ratio 100", gzipZeros, []Option{WithMaxRatio(100)}, ErrLimit},
		{"gzip zeros, 8 MiB cap", gzipZeros, []Option{WithMaxBytes(8 << 20)}, ErrLimit},
		{"gzip zeros, 25 MiB cap", gzipZeros, []Option{WithMaxBytes(25 << 20)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			layers := []v1.Layer{tc.layer}
			err := Flatten(context.Background(), io.Discard, layers, tc.opts...)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Flatten() = %v, want %v", err, tc.wantErr)
			}
			// Lookup of a missing path reads the whole layer too.
			_, err = Lookup(context.Background(), layers, "/missing", tc.opts...)
			want := tc.wantErr
			if want == nil {
				want = ErrNotFound
			}
			if !errors.Is(err, want) {
				t.Errorf("Lookup(/missing) = %v, want %v", err, want)
			}
		})
	}
}

// TestRatioGuardStopsOnlyZstd pins the figures the package documentation
// gives: the densest gzip (zeros at the best level) stays under the default
// ratio, so only the bytes cap bounds a gzip layer, while zstd goes far past
// it, which is what the ratio guard is kept for.
func TestRatioGuardStopsOnlyZstd(t *testing.T) {
	o, err := makeOptions()
	if err != nil {
		t.Fatal(err)
	}
	const n = 24 << 20
	for _, tc := range []struct {
		name     string
		zst      bool
		min, max int64
	}{
		{"gzip", false, 1000, o.maxRatio},
		{"zstd", true, 5 * o.maxRatio, 1 << 40},
	} {
		size, err := zeroLayer(t, n, tc.zst).Size()
		if err != nil {
			t.Fatal(err)
		}
		if r := n / size; r < tc.min || r >= tc.max {
			t.Errorf("%s expands %d MiB of zeros %d:1, want in [%d, %d)", tc.name, n>>20, r, tc.min, tc.max)
		}
		t.Logf("%s expands %d MiB of zeros %d:1", tc.name, n>>20, n/size)
	}
}

// TestDefaultLimits pins the defaults the package documentation states.
func TestDefaultLimits(t *testing.T) {
	o, err := makeOptions()
	if err != nil {
		t.Fatal(err)
	}
	got := [...]int64{o.maxBytes, o.maxRatio, o.maxNameBytes, o.maxFileSize, maxNameLen, maxHops}
	want := [...]int64{32 << 30, 1100, 32 << 20, 256 << 20, 4096, 40}
	if got != want {
		t.Errorf("defaults (bytes, ratio, name bytes, file size, name length, hops) = %v, want %v", got, want)
	}
}

func TestFlattenLayerErrors(t *testing.T) {
	good := gzipBytes(t, tarBytes(t, file("a", "hello"), file("b", "world")))
	truncated := good[:len(good)-12]
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)/2] ^= 0xff
	trailing := append(bytes.Clone(good), "junk after the stream"...)
	tests := []struct {
		name string
		b    []byte
	}{
		{"truncated gzip", truncated},
		{"gzip without its trailer", good[:len(good)-8]},
		{"corrupt gzip", corrupt},
		{"garbage after gzip", trailing},
		{"not a tar", gzipBytes(t, bytes.Repeat([]byte("not a tar header "), 100))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			layers := []v1.Layer{blobLayer(t, tc.b, types.DockerLayer, nil), gzLayer(t, file("top", "t"))}
			_, craneErr := craneExport(t, layers)
			err := Flatten(context.Background(), io.Discard, layers)
			if err == nil {
				t.Errorf("Flatten() = nil, want an error")
			}
			if craneErr == nil {
				t.Errorf("mutate.Extract() = nil; the case no longer tests a failure crane also reports")
			}
		})
	}
}

// flakyBlob fails the first reads of its blob halfway, as a registry that
// drops a connection, then serves it whole.
type flakyBlob struct {
	blob
	failures atomic.Int32 // how many more opens fail
}

func (f *flakyBlob) Compressed() (io.ReadCloser, error) {
	f.opens.Add(1)
	if f.failures.Add(-1) >= 0 {
		return io.NopCloser(io.MultiReader(bytes.NewReader(f.b[:len(f.b)/2]), errReader{})), nil
	}
	return io.NopCloser(bytes.NewReader(f.b)), nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

func TestFlattenReopensDroppedLayer(t *testing.T) {
	body := strings.Repeat("layer data ", 200<<10)
	tests := []struct {
		failures  int32
		wantErr   bool
		wantOpens int32
	}{
		{failures: 1, wantOpens: 2},
		{failures: 2, wantOpens: 3},
		{failures: 3, wantErr: true, wantOpens: 3},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.failures, " failures"), func(t *testing.T) {
			fb := &flakyBlob{blob: blob{b: gzipBytes(t, tarBytes(t, file("big", body))), mt: types.DockerLayer, opens: new(atomic.Int32)}}
			fb.failures.Store(tc.failures)
			flaky, err := partial.CompressedToLayer(fb)
			if err != nil {
				t.Fatal(err)
			}
			top := gzLayer(t, file("top", "t"))
			got, err := flatten(t, []v1.Layer{flaky, top})
			if (err != nil) != tc.wantErr {
				t.Fatalf("Flatten() = %v, want error %v", err, tc.wantErr)
			}
			if n := fb.opens.Load(); n != tc.wantOpens {
				t.Errorf("layer opened %d times, want %d", n, tc.wantOpens)
			}
			if tc.wantErr {
				return
			}
			want, err := craneExport(t, []v1.Layer{blobLayer(t, fb.b, types.DockerLayer, nil), top})
			if err != nil {
				t.Fatal(err)
			}
			assertSameTar(t, got, want)
		})
	}
}
