package extract

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// craneExport is what `crane export` writes for an image of these layers.
func craneExport(tb testing.TB, layers []v1.Layer) ([]byte, error) {
	tb.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		tb.Fatalf("AppendLayers: %v", err)
	}
	rc := mutate.Extract(img)
	defer mustClose(tb, rc)
	return io.ReadAll(rc)
}

func flatten(tb testing.TB, layers []v1.Layer, opts ...Option) ([]byte, error) {
	tb.Helper()
	var buf bytes.Buffer
	err := Flatten(context.Background(), &buf, layers, opts...)
	return buf.Bytes(), err
}

// assertSameTar fails unless got and want are the same bytes, showing the
// entries that differ.
func assertSameTar(t *testing.T, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	t.Errorf("Flatten output differs from mutate.Extract (%d vs %d bytes); entries (-crane +flatten):\n%s",
		len(got), len(want), cmp.Diff(listTar(t, want), listTar(t, got)))
}

// layerSpec is a layer given as entries, base layer first in a slice of them.
type layerSpec []tent

// build returns the layers with a mix of compressions, and the same layers
// without the entries marked escaping (what mutate.Extract can be fed).
func build(tb testing.TB, specs []layerSpec, escaping func(tent) bool) (raw, clean []v1.Layer) {
	tb.Helper()
	for i, spec := range specs {
		var kept []tent
		for _, e := range spec {
			if escaping == nil || !escaping(e) {
				kept = append(kept, e)
			}
		}
		raw = append(raw, encode(tb, i, spec))
		clean = append(clean, encode(tb, i, kept))
	}
	return raw, clean
}

// encode compresses the i-th layer: mostly gzip, some zstd, some plain tar.
func encode(tb testing.TB, i int, entries []tent) v1.Layer {
	tb.Helper()
	tb2 := tarBytes(tb, entries...)
	switch i % 4 {
	case 1:
		return blobLayer(tb, zstdBytes(tb, tb2), types.OCILayerZStd, nil)
	case 3:
		return blobLayer(tb, tb2, types.OCIUncompressedLayer, nil)
	default:
		return blobLayer(tb, gzipBytes(tb, tb2), types.DockerLayer, nil)
	}
}

var handBuilt = []struct {
	name   string
	layers []layerSpec // base first
}{
	{"single layer", []layerSpec{{dir("etc"), file("etc/passwd", "root:x:0:0"), file("etc/hosts", "127.0.0.1")}}},
	{"upper file wins", []layerSpec{
		{dir("etc"), file("etc/passwd", "old")},
		{dir("etc"), file("etc/passwd", "new")},
	}},
	{"file whiteout", []layerSpec{
		{dir("etc"), file("etc/a", "a"), file("etc/b", "b")},
		{whiteout("etc/.wh.a")},
	}},
	{"directory whiteout", []layerSpec{
		{dir("opt"), dir("opt/x"), file("opt/x/y", "y"), file("keep", "k")},
		{whiteout(".wh.opt")},
		{dir("opt"), file("opt/new", "n")},
	}},
	{"opaque directory", []layerSpec{
		{dir("etc"), file("etc/old", "o"), dir("etc/sub"), file("etc/sub/deep", "d"), file("other", "x")},
		{dir("etc"), whiteout("etc/.wh..wh..opq"), file("etc/new", "n")},
	}},
	{"opaque directory without its own entry", []layerSpec{
		{dir("etc"), file("etc/old", "o")},
		{whiteout("etc/.wh..wh..opq"), file("etc/new", "n")},
	}},
	{"opaque marker hides only lower layers", []layerSpec{
		{dir("d"), file("d/base", "b")},
		{dir("d"), file("d/same", "s"), whiteout("d/.wh..wh..opq"), file("d/after", "a")},
	}},
	{"whiteout after file in the same layer", []layerSpec{
		{file("f", "base")},
		{file("f", "upper"), whiteout(".wh.f")},
	}},
	{"symlinks and hard links", []layerSpec{
		{dir("usr"), dir("usr/bin"), file("usr/bin/perl", "#!perl"), hardlink("usr/bin/perl5", "usr/bin/perl"),
			symlink("bin", "usr/bin"), symlink("abs", "/usr/bin/perl"), symlink("usr/bin/rel", "../bin/perl")},
		{symlink("usr/bin/perl", "perl5")},
	}},
	{"escaping relative links are skipped", []layerSpec{
		{dir("a"), symlink("a/up", "../../etc/shadow"), hardlink("a/hl", "../../x"), file("ok", "ok")},
	}},
	{"dot-slash names and duplicates", []layerSpec{
		{dir("./"), dir("./etc/"), file("./etc/x", "1"), file("etc/x", "2"), file("./etc//y", "y")},
		{dir("./etc"), file("./etc/z", "z")},
	}},
	{"file replaced by directory and back", []layerSpec{
		{file("p", "file"), dir("q"), file("q/in", "i")},
		{dir("p"), file("p/child", "c"), file("q", "now a file")},
	}},
	{"long names use PAX", []layerSpec{
		{dir(strings.Repeat("d", 120)), file(strings.Repeat("d", 120)+"/"+strings.Repeat("f", 150), "long"),
			symlink("l", strings.Repeat("t", 140))},
	}},
	{"special files", []layerSpec{{fifo("run/fifo"), file("run/empty", "")}}},
	{"whiteout of a directory named with the prefix", []layerSpec{
		{dir(".wh.d"), file("x", "x")},
		{dir(".wh.x")},
	}},
	{"many layers", []layerSpec{
		{file("a", "0")}, {file("a", "1"), file("b", "1")}, {whiteout(".wh.a")}, {file("c", "3")},
		{file("a", "4")}, {dir("d"), file("d/e", "5")}, {whiteout("d/.wh..wh..opq")},
	}},
}

func TestFlattenMatchesMutateExtract(t *testing.T) {
	for _, tc := range handBuilt {
		t.Run(tc.name, func(t *testing.T) {
			layers, _ := build(t, tc.layers, nil)
			want, err := craneExport(t, layers)
			if err != nil {
				t.Fatalf("mutate.Extract: %v", err)
			}
			got, err := flatten(t, layers)
			if err != nil {
				t.Fatalf("Flatten() = %v", err)
			}
			assertSameTar(t, got, want)
		})
	}
}

func TestFlattenDropsEscapingNames(t *testing.T) {
	escaping := func(e tent) bool {
		return strings.Contains(e.name, "..") || strings.HasPrefix(e.name, "/") || strings.HasPrefix(e.name, `\`) || strings.HasPrefix(e.name, "C:")
	}
	tests := []struct {
		name   string
		layers []layerSpec
	}{
		{"dot-dot", []layerSpec{{file("../evil", "x"), file("ok", "ok"), file("a/../../evil2", "x")}}},
		{"absolute", []layerSpec{{file("/etc/passwd", "abs"), file("etc/passwd", "rel")}}},
		{"backslash and drive", []layerSpec{{file(`\evil`, "x"), file("C:/evil", "x"), file("fine", "f")}}},
		{"escaping whiteout does not hide", []layerSpec{{file("etc/x", "x")}, {whiteout("../etc/.wh.x")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, clean := build(t, tc.layers, escaping)
			if _, err := craneExport(t, raw); err == nil && tc.name == "dot-dot" {
				t.Errorf("mutate.Extract accepted a ../ name; the documented difference is gone")
			}
			want, err := craneExport(t, clean)
			if err != nil {
				t.Fatalf("mutate.Extract(sanitised) = %v", err)
			}
			got, err := flatten(t, raw)
			if err != nil {
				t.Fatalf("Flatten() = %v", err)
			}
			assertSameTar(t, got, want)
		})
	}
}

// entries reads a tar into comparable headers and bodies.
func entries(tb testing.TB, b []byte) []string {
	tb.Helper()
	var out []string
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
			tb.Fatalf("read %s: %v", h.Name, err)
		}
		out = append(out, fmt.Sprintf("%+v %q", *h, body))
	}
}

func TestFlattenSubtree(t *testing.T) {
	specs := []layerSpec{
		{dir("etc"), file("etc/a", "a"), dir("etc/ssl"), file("etc/ssl/cert", "c"), file("etcetera", "no"), dir("usr"), file("usr/x", "x")},
		{whiteout("etc/.wh.a"), file("etc/b", "b"), whiteout("etc/ssl/.wh..wh..opq"), file("etc/ssl/new", "n")},
		{file("etc/b", "b2"), whiteout(".wh.usr")},
	}
	layers, _ := build(t, specs, nil)
	full, err := craneExport(t, layers)
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"/", "/etc", "etc/", "/etc/ssl", "/usr", "/nothing", "/etc/b"} {
		t.Run(sub, func(t *testing.T) {
			c, _ := cleanImagePath(sub)
			var want []string
			tr := tar.NewReader(bytes.NewReader(full))
			for _, e := range entries(t, full) {
				h, _ := tr.Next()
				if under(h.Name, c) {
					want = append(want, e)
				}
			}
			got, err := flatten(t, layers, WithSubtree(sub))
			if err != nil {
				t.Fatalf("Flatten(WithSubtree(%q)) = %v", sub, err)
			}
			if diff := cmp.Diff(want, entries(t, got)); diff != "" {
				t.Errorf("Flatten(WithSubtree(%q)) entries (-want +got):\n%s", sub, diff)
			}
		})
	}
}

func TestFlattenOptionErrors(t *testing.T) {
	for _, opt := range []Option{WithPrefetchBytes(-1), WithPrefetchBytes(2 << 30), WithPrefetchLayers(-1), WithSubtree("/a\x00b"),
		WithMaxFileSize(-1), WithMaxBytes(-1), WithMaxRatio(-1)} {
		if err := Flatten(context.Background(), io.Discard, nil, opt); err == nil {
			t.Errorf("Flatten with a bad option = nil, want an error")
		}
	}
}

// TestFlattenSingleArtifactIsRaw covers crane export's special case: one
// layer of a non-layer media type is written as its uncompressed blob.
func TestFlattenSingleArtifactIsRaw(t *testing.T) {
	chart := tarBytes(t, file("mychart/Chart.yaml", "name: mychart"), file("mychart/values.yaml", "a: 1"))
	tests := []struct {
		name   string
		layers []v1.Layer
	}{
		{"helm chart", []v1.Layer{blobLayer(t, gzipBytes(t, chart), "application/vnd.cncf.helm.chart.content.v1.tar+gzip", nil)}},
		{"plain blob", []v1.Layer{blobLayer(t, []byte("not a tar at all"), "application/vnd.example.config.v1+json", nil)}},
		{"layer media type is flattened", []v1.Layer{blobLayer(t, gzipBytes(t, chart), types.OCILayer, nil)}},
		{"two artifacts are flattened", []v1.Layer{
			blobLayer(t, gzipBytes(t, chart), "application/vnd.cncf.helm.chart.content.v1.tar+gzip", nil),
			blobLayer(t, gzipBytes(t, chart), "application/vnd.cncf.helm.chart.content.v1.tar+gzip", nil),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := mutate.AppendLayers(empty.Image, tc.layers...)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := crane.Export(img, &want); err != nil {
				t.Fatalf("crane.Export: %v", err)
			}
			got, err := flatten(t, tc.layers)
			if err != nil {
				t.Fatalf("Flatten() = %v", err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("Flatten() = %d bytes %q..., want crane export's %d bytes %q...", len(got), got[:min(len(got), 40)], want.Len(), want.Bytes()[:min(want.Len(), 40)])
			}
		})
	}
}
