package extract

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// tent is one tar entry of a hand-built layer.
type tent struct {
	name, link string
	typ        byte
	body       string
	mode       int64
}

func file(name, body string) tent { return tent{name: name, typ: tar.TypeReg, body: body, mode: 0o644} }
func dir(name string) tent        { return tent{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, to string) tent {
	return tent{name: name, typ: tar.TypeSymlink, link: to, mode: 0o777}
}
func hardlink(name, to string) tent {
	return tent{name: name, typ: tar.TypeLink, link: to, mode: 0o644}
}
func whiteout(name string) tent { return file(name, "") }
func fifo(name string) tent     { return tent{name: name, typ: tar.TypeFifo, mode: 0o600} }

var epoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// tarBytes builds an uncompressed layer.
func tarBytes(tb testing.TB, entries ...tent) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode,
			Size: int64(len(e.body)), ModTime: epoch, Uname: "root", Gname: "root"}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatalf("WriteHeader(%q) = %v", e.name, err)
		}
		if h.Size > 0 {
			if _, err := io.WriteString(tw, e.body); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// zstdEnc is shared: building an encoder costs more than a small layer.
var zstdEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))

func zstdBytes(tb testing.TB, b []byte) []byte {
	tb.Helper()
	return zstdEnc.EncodeAll(b, nil)
}

// blob is a compressed layer held in memory. go-containerregistry derives
// Uncompressed from it (partial.CompressedToLayer), exactly as it does for a
// remote layer, so mutate.Extract reads it the way crane export would.
type blob struct {
	b     []byte
	mt    types.MediaType
	opens *atomic.Int32 // counts Compressed calls; may be nil
}

func (l *blob) Digest() (v1.Hash, error) {
	s := sha256.Sum256(l.b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}, nil
}
func (l *blob) Size() (int64, error)                { return int64(len(l.b)), nil }
func (l *blob) MediaType() (types.MediaType, error) { return l.mt, nil }
func (l *blob) Compressed() (io.ReadCloser, error) {
	if l.opens != nil {
		l.opens.Add(1)
	}
	return io.NopCloser(bytes.NewReader(l.b)), nil
}

func blobLayer(tb testing.TB, b []byte, mt types.MediaType, opens *atomic.Int32) v1.Layer {
	tb.Helper()
	l, err := partial.CompressedToLayer(&blob{b: b, mt: mt, opens: opens})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// gzLayer builds a gzip layer from entries.
func gzLayer(tb testing.TB, entries ...tent) v1.Layer {
	tb.Helper()
	return blobLayer(tb, gzipBytes(tb, tarBytes(tb, entries...)), types.DockerLayer, nil)
}

// listTar returns "name type size linkname" per entry plus each body's hash,
// for readable failure messages.
func listTar(tb testing.TB, b []byte) []string {
	tb.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			return append(out, "error: "+err.Error())
		}
		body, _ := io.ReadAll(tr)
		sum := sha256.Sum256(body)
		out = append(out, h.Name+" "+string(h.Typeflag)+" "+h.Linkname+" "+hex.EncodeToString(sum[:4]))
	}
}

// readAll reads a tar into names, types and bodies.
func readAll(tb testing.TB, b []byte) []hdr {
	tb.Helper()
	var out []hdr
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("read tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, hdr{name: h.Name, typ: typeName(h.Typeflag), body: body})
	}
}
