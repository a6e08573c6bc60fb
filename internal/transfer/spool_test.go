package transfer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

func TestSpoolRoundTrip(t *testing.T) {
	tarBytes := dockerTar(t, registrytest.RandomImage(t, 2))
	tests := []struct {
		name       string
		body       []byte
		compressed bool
	}{
		{"plain", tarBytes, false},
		{"gzip", gz(t, tarBytes), true},
		{"gzip multistream", append(gz(t, tarBytes[:1000]), gz(t, tarBytes[1000:])...), true},
		{"empty", nil, false},
		{"one byte", []byte{0x1f}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Spool(context.Background(), bytes.NewReader(tc.body), dir, 1<<30)
			if err != nil {
				t.Fatalf("Spool = %v", err)
			}
			want := tc.body
			if tc.compressed {
				want = tarBytes
			}
			if s.Size() != int64(len(want)) {
				t.Errorf("Size() = %d, want %d", s.Size(), len(want))
			}
			if s.Compressed() != tc.compressed {
				t.Errorf("Compressed() = %v, want %v", s.Compressed(), tc.compressed)
			}
			got, err := io.ReadAll(io.NewSectionReader(s, 0, s.Size()))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("spooled content differs from the upload (err %v)", err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("spool dir holds %d files while open, want 1", len(ents))
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close() = %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close() = %v, want nil", err)
			}
			assertEmptyDir(t, dir)
		})
	}
}

// cancelReader serves chunks of zeros forever and cancels its context after
// the first read, like a client that is still sending when the request ends.
type cancelReader struct {
	cancel context.CancelFunc
	reads  int
}

func (r *cancelReader) Read(p []byte) (int, error) {
	r.reads++
	if r.reads == 2 {
		r.cancel()
	}
	clear(p)
	return len(p), nil
}

// failReader returns n bytes, then err.
type failReader struct {
	n   int
	err error
}

func (r *failReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

func TestSpoolErrors(t *testing.T) {
	const limit = 1 << 20
	tarBytes := dockerTar(t, registrytest.RandomImage(t, 1))
	bomb := gz(t, make([]byte, 8*limit)) // a few KiB that inflate past the cap
	truncatedGzip := gz(t, tarBytes)
	truncatedGzip = truncatedGzip[:len(truncatedGzip)/2]
	corruptGzip := gz(t, tarBytes)
	corruptGzip[len(corruptGzip)-6] ^= 0xff // CRC32 of the trailer

	tests := []struct {
		name string
		body func(cancel context.CancelFunc) io.Reader
		want error
	}{
		{"over cap", func(context.CancelFunc) io.Reader { return bytes.NewReader(make([]byte, limit+1)) }, ErrTooLarge},
		{"gzip bomb", func(context.CancelFunc) io.Reader { return bytes.NewReader(bomb) }, ErrTooLarge},
		{"endless body", func(context.CancelFunc) io.Reader { return &failReader{n: 1 << 40} }, ErrTooLarge},
		{"truncated gzip", func(context.CancelFunc) io.Reader { return bytes.NewReader(truncatedGzip) }, ErrInvalidTarball},
		{"corrupt gzip", func(context.CancelFunc) io.Reader { return bytes.NewReader(corruptGzip) }, ErrInvalidTarball},
		{"bad gzip header", func(context.CancelFunc) io.Reader { return strings.NewReader("\x1f\x8bnot gzip") }, ErrInvalidTarball},
		{"client abort", func(context.CancelFunc) io.Reader { return &failReader{n: 5000, err: io.ErrUnexpectedEOF} }, ErrIncompleteBody},
		{"context cancelled mid-body", func(c context.CancelFunc) io.Reader { return &cancelReader{cancel: c} }, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s, err := Spool(ctx, tc.body(cancel), dir, limit)
			if !errors.Is(err, tc.want) {
				t.Errorf("Spool = %v, want %v", err, tc.want)
			}
			if s != nil {
				t.Errorf("Spool returned a file with error %v", err)
				_ = s.Close()
			}
			assertEmptyDir(t, dir)
		})
	}
}

func TestSpoolExactlyAtCap(t *testing.T) {
	dir := t.TempDir()
	s, err := Spool(context.Background(), bytes.NewReader(make([]byte, 4096)), dir, 4096)
	if err != nil {
		t.Fatalf("Spool(4096 bytes, cap 4096) = %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	assertEmptyDir(t, dir)
}

func TestSpoolBadArguments(t *testing.T) {
	if _, err := Spool(context.Background(), strings.NewReader("x"), t.TempDir(), 0); err == nil {
		t.Error("Spool(max 0) = nil error, want one")
	}
	missing := t.TempDir() + "/missing"
	if _, err := Spool(context.Background(), strings.NewReader("x"), missing, 10); err == nil || errors.Is(err, ErrInvalidTarball) {
		t.Errorf("Spool(missing dir) = %v, want a file system error", err)
	}
}

func BenchmarkSpool(b *testing.B) {
	const size = 64 << 20
	plain := make([]byte, size)
	for i := range plain {
		plain[i] = byte(i * 7 % 251) // compressible but not trivially so
	}
	compressed := gz(b, plain)
	for _, bc := range []struct {
		name string
		body []byte
	}{{"plain", plain}, {"gzip", compressed}} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			b.SetBytes(size)
			for b.Loop() {
				s, err := Spool(context.Background(), bytes.NewReader(bc.body), dir, 1<<30)
				if err != nil {
					b.Fatal(err)
				}
				_ = s.Close()
			}
		})
	}
}
