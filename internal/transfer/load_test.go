package transfer

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

func TestLoadFormats(t *testing.T) {
	img := registrytest.RandomImage(t, 3)
	idx := registrytest.RandomIndex(t)
	imgDigest, _ := img.Digest()
	idxDigest, _ := idx.Digest()

	tests := []struct {
		name       string
		tar        []byte
		wantFormat Format
		wantIndex  bool
		wantDigest v1.Hash // zero: not checked
	}{
		{"docker archive", dockerTar(t, img), FormatDockerArchive, false, imgDigest},
		{"docker archive gzip", gz(t, dockerTar(t, img)), FormatDockerArchive, false, imgDigest},
		{"docker archive uncompressed layers", gunzipLayers(t, dockerTar(t, img)), FormatDockerArchive, false, v1.Hash{}},
		{"docker archive symlinked layer", symlinkLayer(t, dockerTar(t, img)), FormatDockerArchive, false, imgDigest},
		{"oci layout image", layoutTar(t, img), FormatOCILayout, false, imgDigest},
		{"oci layout index", layoutTar(t, idx), FormatOCILayout, true, idxDigest},
		{"oci layout index gzip", gz(t, layoutTar(t, idx)), FormatOCILayout, true, idxDigest},
		{"oci layout with ./ names", dotSlash(t, layoutTar(t, img)), FormatOCILayout, false, imgDigest},
		{"docker 25 (both formats)", both(t, img, false), FormatOCILayout, false, imgDigest},
		{"docker 25 with an incomplete layout", both(t, img, true), FormatDockerArchive, false, imgDigest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Load(spoolBytes(t, tc.tar))
			if err != nil {
				t.Fatalf("Load = %v", err)
			}
			if a.Format != tc.wantFormat {
				t.Errorf("Format = %s, want %s", a.Format, tc.wantFormat)
			}
			if (a.Index != nil) != tc.wantIndex || (a.Image != nil) == tc.wantIndex {
				t.Errorf("Load = image %v, index %v, want index %v", a.Image != nil, a.Index != nil, tc.wantIndex)
			}
			got, err := a.Digest()
			if err != nil {
				t.Fatalf("Digest = %v", err)
			}
			if tc.wantDigest != (v1.Hash{}) && got != tc.wantDigest {
				t.Errorf("Digest = %s, want %s", got, tc.wantDigest)
			}
		})
	}
}

// gunzipLayers returns a docker archive with every layer stored as a plain
// tar, as `docker save` writes them.
func gunzipLayers(t testing.TB, b []byte) []byte {
	t.Helper()
	return mutateTar(t, b, func(files []tfile) []tfile {
		for i, f := range files {
			if isLayer(f) {
				files[i].body = gunzip(t, f.body)
			}
		}
		return files
	})
}

// symlinkLayer returns a docker archive whose first layer is reached through
// a relative symbolic link, as `docker save` before version 25 writes a layer
// that two images share.
func symlinkLayer(t testing.TB, b []byte) []byte {
	t.Helper()
	return mutateTar(t, b, func(files []tfile) []tfile {
		i := find(t, files, isLayer)
		old := files[i].name
		files[i].name = "abc/layer.tar"
		m := find(t, files, named("manifest.json"))
		files[m].body = []byte(strings.Replace(string(files[m].body), old, "def/layer.tar", 1))
		return append(files, tfile{name: "def/layer.tar", typ: tar.TypeSymlink, link: "../abc/layer.tar"})
	})
}

// both returns a tar holding img as a docker archive and as an OCI layout,
// as Docker 25 and later save it. With incomplete, the layout lacks its
// manifest blob, as when the containerd store saves an index whose other
// platforms are absent.
func both(t testing.TB, img v1.Image, incomplete bool) []byte {
	t.Helper()
	files := append(readTar(t, dockerTar(t, img)), readTar(t, layoutTar(t, img))...)
	if incomplete {
		d, _ := img.Digest()
		files = without(files, find(t, files, named("blobs/sha256/"+d.Hex)))
	}
	return makeTar(t, files)
}

// dotSlash prefixes every name of a tar with "./", as `tar -C dir -cf - .`
// writes them.
func dotSlash(t testing.TB, b []byte) []byte {
	t.Helper()
	files := readTar(t, b)
	for i := range files {
		files[i].name = "./" + files[i].name
	}
	return makeTar(t, files)
}

// mutateTar returns b with f applied to its entries.
func mutateTar(t testing.TB, b []byte, f func([]tfile) []tfile) []byte {
	t.Helper()
	return makeTar(t, f(readTar(t, b)))
}

// find returns the index of the first entry whose name has the prefix (and,
// when size >= 0, whose body has that length).
func find(t testing.TB, files []tfile, match func(tfile) bool) int {
	t.Helper()
	for i, f := range files {
		if match(f) {
			return i
		}
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	t.Fatalf("no matching tar entry among %q", names)
	return -1
}

func isLayer(f tfile) bool { return strings.HasSuffix(f.name, ".tar.gz") }

// isBigBlob matches an OCI layout blob larger than any manifest or config.
func isBigBlob(f tfile) bool { return strings.HasPrefix(f.name, "blobs/") && len(f.body) > 1000 }

func without(files []tfile, i int) []tfile { return append(files[:i:i], files[i+1:]...) }

// corruptCases are archives Load must reject; they start from good ones.
func corruptCases(t testing.TB) map[string][]byte {
	img := registrytest.RandomImage(t, 2)
	docker := dockerTar(t, img)
	oci := layoutTar(t, img)
	ociIndex := layoutTar(t, registrytest.RandomIndex(t))
	other := registrytest.RandomImage(t, 1)
	otherLayers, _ := other.Layers()
	otherLayer, _ := otherLayers[0].Compressed()
	otherLayerBytes := mustReadAll(t, otherLayer)
	if err := otherLayer.Close(); err != nil {
		t.Fatal(err)
	}

	return map[string][]byte{
		"empty body":               {},
		"not a tar":                []byte(strings.Repeat("not a tar at all ", 100)),
		"tar with no image":        makeTar(t, []tfile{{name: "hello.txt", body: []byte("hi")}}),
		"truncated docker archive": docker[:len(docker)/2],
		"truncated oci layout":     oci[:len(oci)-1500],
		"truncated gzip":           gz(t, docker)[:len(gz(t, docker))/2],
		"bad manifest.json":        mutateTar(t, docker, func(f []tfile) []tfile { f[find(t, f, named("manifest.json"))].body = []byte("{"); return f }),
		"manifest.json not a list": mutateTar(t, docker, func(f []tfile) []tfile {
			f[find(t, f, named("manifest.json"))].body = []byte(`{"Config":"x"}`)
			return f
		}),
		"two images": mutateTar(t, docker, func(f []tfile) []tfile {
			i := find(t, f, named("manifest.json"))
			f[i].body = twice(t, f[i].body)
			return f
		}),
		"no images":              mutateTar(t, docker, func(f []tfile) []tfile { f[find(t, f, named("manifest.json"))].body = []byte("[]"); return f }),
		"docker layer missing":   mutateTar(t, docker, func(f []tfile) []tfile { return without(f, find(t, f, isLayer)) }),
		"docker config missing":  mutateTar(t, docker, func(f []tfile) []tfile { return without(f, find(t, f, isConfig)) }),
		"docker layer swapped":   mutateTar(t, docker, func(f []tfile) []tfile { f[find(t, f, isLayer)].body = otherLayerBytes; return f }),
		"docker layer bit flip":  mutateTar(t, docker, func(f []tfile) []tfile { i := find(t, f, isLayer); f[i].body[len(f[i].body)/2] ^= 1; return f }),
		"docker config tampered": mutateTar(t, docker, func(f []tfile) []tfile { i := find(t, f, isConfig); f[i].body = tamperJSON(t, f[i].body); return f }),
		"dotdot path":            mutateTar(t, docker, func(f []tfile) []tfile { return append(f, tfile{name: "../evil", body: []byte("x")}) }),
		"nested dotdot path":     mutateTar(t, oci, func(f []tfile) []tfile { return append(f, tfile{name: "blobs/../../evil", body: []byte("x")}) }),
		"absolute path":          mutateTar(t, docker, func(f []tfile) []tfile { return append(f, tfile{name: "/etc/cron.d/evil", body: []byte("x")}) }),
		"symlink out of archive": mutateTar(t, docker, func(f []tfile) []tfile {
			return append(f, tfile{name: "a/b", typ: tar.TypeSymlink, link: "../../etc/passwd"})
		}),
		"absolute symlink":        mutateTar(t, docker, func(f []tfile) []tfile { return append(f, tfile{name: "x", typ: tar.TypeSymlink, link: "/etc/passwd"}) }),
		"device node":             mutateTar(t, docker, func(f []tfile) []tfile { return append(f, tfile{name: "dev", typ: tar.TypeChar}) }),
		"duplicate manifest.json": mutateTar(t, docker, func(f []tfile) []tfile { return append(f, f[find(t, f, named("manifest.json"))]) }),
		"symlink loop": mutateTar(t, docker, func(f []tfile) []tfile {
			f[find(t, f, named("manifest.json"))] = tfile{name: "manifest.json", typ: tar.TypeSymlink, link: "manifest.json"}
			return f
		}),
		"oci blob missing":         mutateTar(t, oci, func(f []tfile) []tfile { return without(f, find(t, f, isBigBlob)) }),
		"oci blob digest mismatch": mutateTar(t, oci, func(f []tfile) []tfile { i := find(t, f, isBigBlob); f[i].body[10] ^= 1; return f }),
		"oci blob size mismatch":   mutateTar(t, oci, func(f []tfile) []tfile { i := find(t, f, isBigBlob); f[i].body = append(f[i].body, 0); return f }),
		"oci index child missing":  mutateTar(t, ociIndex, func(f []tfile) []tfile { return without(f, find(t, f, isBigBlob)) }),
		"bad index.json":           mutateTar(t, oci, func(f []tfile) []tfile { f[find(t, f, named("index.json"))].body = []byte("[1,2"); return f }),
		"empty index.json": mutateTar(t, oci, func(f []tfile) []tfile {
			f[find(t, f, named("index.json"))].body = []byte(`{"schemaVersion":2,"manifests":[]}`)
			return f
		}),
		"index.json bad digest": mutateTar(t, oci, func(f []tfile) []tfile {
			i := find(t, f, named("index.json"))
			f[i].body = []byte(strings.Replace(string(f[i].body), "sha256:", "sha256:zz", 1))
			return f
		}),
		"unsupported layout": mutateTar(t, oci, func(f []tfile) []tfile {
			f[find(t, f, named("oci-layout"))].body = []byte(`{"imageLayoutVersion":"2.0.0"}`)
			return f
		}),
		"oci index.json missing": mutateTar(t, oci, func(f []tfile) []tfile { return without(f, find(t, f, named("index.json"))) }),
		"oci blob under dotdot":  mutateTar(t, oci, func(f []tfile) []tfile { i := find(t, f, isBigBlob); f[i].name = "x/../" + f[i].name; return f }),
		"sparse file":            sparseTar(t),
		"name over 4096 bytes": mutateTar(t, docker, func(f []tfile) []tfile {
			return append(f, tfile{name: strings.Repeat("n", 4097), body: []byte("x")})
		}),
		"link over 4096 bytes": mutateTar(t, docker, func(f []tfile) []tfile {
			return append(f, tfile{name: "l", typ: tar.TypeSymlink, link: strings.Repeat("n", 4097)})
		}),
		"names over 4 MiB": gz(t, mutateTar(t, docker, func(f []tfile) []tfile {
			for i := range 1100 {
				f = append(f, tfile{name: fmt.Sprintf("%04d", i) + strings.Repeat("n", 3996), body: []byte("x")})
			}
			return f
		})),
	}
}

func named(n string) func(tfile) bool { return func(f tfile) bool { return f.name == n } }

func isConfig(f tfile) bool {
	return strings.HasPrefix(f.name, "sha256:")
}

// twice returns a manifest.json listing its one image twice.
func twice(t testing.TB, b []byte) []byte {
	t.Helper()
	var m []json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || len(m) != 1 {
		t.Fatalf("manifest.json: %v (%d entries)", err, len(m))
	}
	out, _ := json.Marshal(append(m, m[0]))
	return out
}

// tamperJSON changes a config's content but keeps it valid JSON.
func tamperJSON(t testing.TB, b []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["author"] = "mallory"
	out, _ := json.Marshal(m)
	return out
}

// sparseTar returns a tar holding a GNU sparse file (PAX format 1.0): the
// data starts with the sparse map, which a plain offset index would serve as
// file content. archive/tar's writer drops GNU.sparse records, so they are
// written under another prefix of the same length and renamed in the bytes.
func sparseTar(t testing.TB) []byte {
	t.Helper()
	sparseMap := make([]byte, 512)
	copy(sparseMap, "1\n0\n10\n") // one region: offset 0, length 10
	body := append(sparseMap, "0123456789"...)
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	hdr := &tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg, Size: int64(len(body)), Mode: 0o644,
		Format: tar.FormatPAX, PAXRecords: map[string]string{
			"XXX.sparse.major": "1", "XXX.sparse.minor": "0", "XXX.sparse.name": "manifest.json", "XXX.sparse.realsize": "10",
		}}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b.Bytes(), []byte("XXX.sparse."), []byte("GNU.sparse."))
}

// gunzip returns b decompressed.
func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return mustReadAll(t, zr)
}

// mustReadAll reads r to its end.
func mustReadAll(t testing.TB, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corruptReasons says which reason Load must give for each corrupt case, so
// that a case cannot pass by failing for another reason.
var corruptReasons = map[string]string{
	"empty body":               "no files",
	"not a tar":                "invalid tar header",
	"tar with no image":        "neither manifest.json",
	"truncated docker archive": "unexpected EOF",
	"truncated oci layout":     "truncated",
	"truncated gzip":           "gzip",
	"bad manifest.json":        "manifest.json: unexpected end of JSON",
	"manifest.json not a list": "manifest.json: json: cannot unmarshal",
	"two images":               "describes 2 images",
	"no images":                "describes 0 images",
	"docker layer missing":     ".tar.gz\" not found",
	"docker config missing":    "not found in tarball",
	"docker layer swapped":     "content has diff_id",
	"docker layer bit flip":    "gzip",
	"docker config tampered":   "content has digest",
	"dotdot path":              `unsafe path "../evil"`,
	"nested dotdot path":       "contains ..",
	"absolute path":            "absolute",
	"symlink out of archive":   "link leaves the archive",
	"absolute symlink":         "absolute link target",
	"device node":              "unsupported tar entry type",
	"duplicate manifest.json":  "appears twice",
	"symlink loop":             "too many links",
	"oci blob missing":         "blob missing",
	"oci blob digest mismatch": "content has digest",
	"oci blob size mismatch":   "its descriptor says",
	"oci index child missing":  "blob missing",
	"bad index.json":           "index.json: unexpected EOF",
	"empty index.json":         "lists no manifests",
	"index.json bad digest":    "non-hex character",
	"unsupported layout":       "imageLayoutVersion",
	"oci index.json missing":   `"index.json" not found`,
	"oci blob under dotdot":    "contains ..",
	"sparse file":              "sparse files are not supported",
	"name over 4096 bytes":     "is 4097 bytes, more than 4096",
	"link over 4096 bytes":     "is 4097 bytes, more than 4096",
	"names over 4 MiB":         "add up to more than 4194304 bytes",
}

func TestLoadRejects(t *testing.T) {
	cases := corruptCases(t)
	if len(cases) != len(corruptReasons) {
		t.Fatalf("%d corrupt cases, %d reasons", len(cases), len(corruptReasons))
	}
	for name, b := range cases {
		want, ok := corruptReasons[name]
		if !ok {
			t.Fatalf("no reason for case %q", name)
		}
		t.Run(name, func(t *testing.T) {
			s, err := Spool(t.Context(), strings.NewReader(string(b)), t.TempDir(), 1<<30)
			if err != nil {
				if !errors.Is(err, ErrInvalidTarball) || !strings.Contains(err.Error(), want) {
					t.Fatalf("Spool = %v, want nil or ErrInvalidTarball with %q", err, want)
				}
				return
			}
			defer closeSpool(t, s)
			a, err := Load(s)
			if !errors.Is(err, ErrInvalidTarball) || !strings.Contains(err.Error(), want) {
				t.Fatalf("Load = %+v, %v, want ErrInvalidTarball with %q", a, err, want)
			}
		})
	}
}
