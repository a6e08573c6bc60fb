package demo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// demoTime stamps every file, config and history entry of the demo content,
// so the same build of regapi always seeds the same digests.
var demoTime = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// file is one tar entry of a demo layer. A name ending in "/" is a
// directory; a non-empty link makes a symbolic link.
type file struct {
	name string
	body string
	mode int64
	link string
}

// dir, text and exe shorten the content tables in content.go.
func dir(name string) file             { return file{name: name, mode: 0o755} }
func text(name, body string) file      { return file{name: name, body: body, mode: 0o644} }
func exe(name, body string) file       { return file{name: name, body: body, mode: 0o755} }
func symlink(name, target string) file { return file{name: name, link: target, mode: 0o777} }

// whiteout deletes path from the layers below; opaque hides everything the
// layers below put in directory dir.
func whiteout(path string) file {
	i := strings.LastIndex(path, "/") + 1
	return text(path[:i]+".wh."+path[i:], "")
}
func opaque(dir string) file { return text(strings.TrimSuffix(dir, "/")+"/.wh..wh..opq", "") }

// layer builds a gzip-compressed layer of media type mt from files.
func layer(mt types.MediaType, files ...file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: demoTime, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
		switch {
		case strings.HasSuffix(f.name, "/"):
			h.Typeflag = tar.TypeDir
		case f.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return newGzipLayer(buf.Bytes(), mt)
}

// gzipWriters reuses compressors: a new one costs far more than the demo's
// small layers (the allocation would dominate seeding time).
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// gzipLayer is a layer held in memory both compressed and not, with both
// digests computed once.
type gzipLayer struct {
	raw, gz        []byte
	digest, diffID v1.Hash
	mt             types.MediaType
}

func newGzipLayer(raw []byte, mt types.MediaType) (v1.Layer, error) {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	l := &gzipLayer{raw: raw, gz: buf.Bytes(), mt: mt}
	var err error
	if l.digest, _, err = v1.SHA256(bytes.NewReader(l.gz)); err != nil {
		return nil, err
	}
	if l.diffID, _, err = v1.SHA256(bytes.NewReader(l.raw)); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *gzipLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *gzipLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *gzipLayer) Size() (int64, error)                { return int64(len(l.gz)), nil }
func (l *gzipLayer) MediaType() (types.MediaType, error) { return l.mt, nil }
func (l *gzipLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.gz)), nil
}
func (l *gzipLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.raw)), nil
}

// imageSpec describes one demo image.
type imageSpec struct {
	docker   bool // Docker schema 2 media types instead of OCI
	platform v1.Platform
	config   v1.Config
	layers   [][]file // bottom first
	// created is the config's date; zero means demoTime.
	created time.Time
}

// build assembles the image with fixed timestamps.
func (s imageSpec) build() (v1.Image, error) {
	layerType := types.OCILayer
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if s.docker {
		layerType = types.DockerLayer
		img = mutate.MediaType(empty.Image, types.DockerManifestSchema2)
		img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
	}
	p := s.platform
	if p.OS == "" {
		p = v1.Platform{OS: "linux", Architecture: "amd64"}
	}
	created := s.created
	if created.IsZero() {
		created = demoTime
	}
	img, err := mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		Variant:      p.Variant,
		Created:      v1.Time{Time: created},
		Config:       s.config,
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	for i, files := range s.layers {
		l, err := layer(layerType, files...)
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:   l,
			History: v1.History{Created: v1.Time{Time: created}, CreatedBy: fmt.Sprintf("regapi demo layer %d", i+1)},
		})
		if err != nil {
			return nil, err
		}
	}
	return img, nil
}

// index assembles a multi-platform index of images, one per platform.
func index(docker bool, images map[string]v1.Image, platforms ...v1.Platform) v1.ImageIndex {
	mt := types.OCIImageIndex
	if docker {
		mt = types.DockerManifestList
	}
	idx := mutate.IndexMediaType(empty.Index, mt)
	for _, p := range platforms {
		p := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        plainDescriptor{images[p.String()]},
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	return idx
}

// plainDescriptor describes an image in an index the way docker buildx and
// registries do: go-containerregistry would also set artifactType (from the
// config media type), which image indexes in the wild do not carry.
type plainDescriptor struct{ v1.Image }

// Descriptor is read by mutate.AppendManifests through partial.Descriptor.
func (i plainDescriptor) Descriptor() (*v1.Descriptor, error) {
	mt, err := i.MediaType()
	if err != nil {
		return nil, err
	}
	size, err := i.Size()
	if err != nil {
		return nil, err
	}
	digest, err := i.Digest()
	if err != nil {
		return nil, err
	}
	return &v1.Descriptor{MediaType: mt, Size: size, Digest: digest}, nil
}
