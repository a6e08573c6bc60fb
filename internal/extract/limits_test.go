package extract

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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
