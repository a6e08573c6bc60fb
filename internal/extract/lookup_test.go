package extract

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"path"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// lookupImage is base first.
var lookupImage = []layerSpec{
	{
		dir("etc"), file("etc/passwd", "root:x:0:0"), file("etc/gone", "g"), dir("etc/ssl"), file("etc/ssl/old", "o"),
		dir("usr"), dir("usr/bin"), file("usr/bin/env", "#!env"), hardlink("usr/bin/env2", "usr/bin/env"),
		symlink("bin", "usr/bin"), symlink("etc/abs", "/usr/bin/env"), symlink("etc/up", "/../../../usr/bin/env"),
		symlink("loop1", "loop2"), symlink("loop2", "loop1"), file("plain", "p"), dir("var"), file("var/lib", "x"),
		fifo("run/fifo"), file("deep/a/b/c", "implied dirs"),
	},
	{
		whiteout("etc/.wh.gone"), file("etc/hosts", "127.0.0.1"), whiteout("etc/ssl/.wh..wh..opq"), file("etc/ssl/new", "n"),
		whiteout(".wh.var"), symlink("etc/rel", "../usr/bin/env"),
	},
	{file("etc/passwd", "root:x:0:0:top"), file("big", strings.Repeat("x", 4096))},
}

func TestLookup(t *testing.T) {
	layers, _ := build(t, lookupImage, nil)
	tests := []struct {
		path, wantPath, wantType, wantBody string
		wantErr                            error
	}{
		{path: "/etc/passwd", wantPath: "/etc/passwd", wantType: "file", wantBody: "root:x:0:0:top"},
		{path: "etc/./passwd", wantPath: "/etc/passwd", wantType: "file", wantBody: "root:x:0:0:top"},
		{path: "/etc/hosts", wantPath: "/etc/hosts", wantType: "file", wantBody: "127.0.0.1"},
		{path: "/usr/bin/env", wantPath: "/usr/bin/env", wantType: "file", wantBody: "#!env"},
		{path: "/bin/env", wantPath: "/usr/bin/env", wantType: "file", wantBody: "#!env"},
		{path: "/etc/abs", wantPath: "/usr/bin/env", wantType: "file", wantBody: "#!env"},
		{path: "/etc/up", wantPath: "/usr/bin/env", wantType: "file", wantBody: "#!env"},
		{path: "/etc/rel", wantPath: "/usr/bin/env", wantType: "file", wantBody: "#!env"},
		{path: "/usr/bin/env2", wantPath: "/usr/bin/env", wantType: "file", wantBody: "#!env"},
		{path: "/../../etc/passwd", wantPath: "/etc/passwd", wantType: "file", wantBody: "root:x:0:0:top"},
		{path: "/run/fifo", wantPath: "/run/fifo", wantType: "fifo"},
		{path: "/etc/gone", wantErr: ErrNotFound},
		{path: "/etc/ssl/old", wantErr: ErrNotFound},
		{path: "/var/lib", wantErr: ErrNotFound},
		{path: "/plain/below", wantErr: ErrNotFound},
		{path: "/nothing", wantErr: ErrNotFound},
		{path: "/loop1", wantErr: ErrTooManyLinks},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			e, err := Lookup(context.Background(), layers, tc.path)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Lookup(%q) error = %v, want %v", tc.path, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			defer mustClose(t, e)
			if e.Path != tc.wantPath || e.Type != tc.wantType {
				t.Errorf("Lookup(%q) = %s %s, want %s %s", tc.path, e.Type, e.Path, tc.wantType, tc.wantPath)
			}
			if tc.wantType == "file" {
				body, err := io.ReadAll(e.Body)
				if err != nil || string(body) != tc.wantBody || e.Size != int64(len(tc.wantBody)) {
					t.Errorf("Lookup(%q) body = %q (size %d), %v, want %q", tc.path, body, e.Size, err, tc.wantBody)
				}
			}
		})
	}
}

func TestLookupDirectory(t *testing.T) {
	layers, _ := build(t, lookupImage, nil)
	tests := []struct {
		path      string
		wantNames []string
	}{
		{"/etc", []string{"abs", "hosts", "passwd", "rel", "ssl", "up"}},
		{"/etc/ssl", []string{"new"}},
		{"/", []string{"big", "bin", "deep", "etc", "loop1", "loop2", "plain", "run", "usr"}},
		{"/deep/a", []string{"b"}},
		{"/bin", []string{"env", "env2"}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			e, err := Lookup(context.Background(), layers, tc.path)
			if err != nil {
				t.Fatalf("Lookup(%q) = %v", tc.path, err)
			}
			if e.Type != "dir" || e.Body != nil {
				t.Errorf("Lookup(%q).Type = %q, want dir without a body", tc.path, e.Type)
			}
			var names []string
			for _, d := range e.Entries {
				names = append(names, d.Name)
			}
			if diff := cmp.Diff(tc.wantNames, names); diff != "" {
				t.Errorf("Lookup(%q) names (-want +got):\n%s", tc.path, diff)
			}
		})
	}
	e, err := Lookup(context.Background(), layers, "/etc")
	if err != nil {
		t.Fatal(err)
	}
	want := DirEntry{Name: "passwd", Type: "file", Size: int64(len("root:x:0:0:top")), Mode: 0o644}
	for _, d := range e.Entries {
		if d.Name == "abs" && (d.Type != "symlink" || d.LinkTarget != "/usr/bin/env") {
			t.Errorf("Lookup(/etc) abs = %+v, want a symlink to /usr/bin/env", d)
		}
		if d.Name == "passwd" && d != want {
			t.Errorf("Lookup(/etc) passwd = %+v, want %+v", d, want)
		}
	}
}

func TestLookupMaxFileSize(t *testing.T) {
	layers, _ := build(t, lookupImage, nil)
	if _, err := Lookup(context.Background(), layers, "/big", WithMaxFileSize(4095)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Lookup(/big, cap 4095) = %v, want ErrTooLarge", err)
	}
	e, err := Lookup(context.Background(), layers, "/big", WithMaxFileSize(4096))
	if err != nil {
		t.Fatalf("Lookup(/big, cap 4096) = %v", err)
	}
	mustClose(t, e)
}

// countingLayers builds gzip layers that count their opens.
func countingLayers(t *testing.T, specs []layerSpec) ([]v1.Layer, []*atomic.Int32) {
	t.Helper()
	var layers []v1.Layer
	var opens []*atomic.Int32
	for _, s := range specs {
		n := new(atomic.Int32)
		layers = append(layers, blobLayer(t, gzipBytes(t, tarBytes(t, s...)), types.DockerLayer, n))
		opens = append(opens, n)
	}
	return layers, opens
}

func TestLookupStopsEarly(t *testing.T) {
	specs := []layerSpec{
		{dir("app"), file("app/base", "b"), dir("data"), file("data/x", "x")},
		{file("app/mid", "m"), file("app/gone", "g")},
		{whiteout("app/.wh.gone"), dir("data"), whiteout("data/.wh..wh..opq"), file("data/y", "y")},
		{dir("app"), file("app/version.json", `{"v":1}`)},
	}
	tests := []struct {
		path      string
		wantOpens []int32 // base first
	}{
		{"/app/version.json", []int32{0, 0, 0, 1}},
		{"/app/mid", []int32{0, 1, 1, 1}},
		{"/app/gone", []int32{0, 0, 1, 1}},
		{"/data", []int32{0, 0, 1, 1}},
		{"/app/base", []int32{1, 1, 1, 1}},
		{"/nothing", []int32{1, 1, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			layers, opens := countingLayers(t, specs)
			e, err := Lookup(context.Background(), layers, tc.path)
			if err == nil {
				mustClose(t, e)
			}
			var got []int32
			for _, n := range opens {
				got = append(got, n.Load())
			}
			if diff := cmp.Diff(tc.wantOpens, got); diff != "" {
				t.Errorf("Lookup(%q) layer opens, base first (-want +got):\n%s", tc.path, diff)
			}
		})
	}
}

// TestLookupMatchesFlatten checks Lookup against Flatten on random images:
// every regular file Flatten writes is found with the same bytes, and every
// directory lists at least the children Flatten writes, with their types.
func TestLookupMatchesFlatten(t *testing.T) {
	checkedFiles, checkedDirs := 0, 0
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 7))
		layers, _ := build(t, randomSpecs(r, false), nil)
		out, err := flatten(t, layers)
		if err != nil {
			t.Fatal(err)
		}
		children := map[string]map[string]string{}
		for _, h := range headers(t, out) {
			if h.typ == "dir" {
				if children[h.name] == nil {
					children[h.name] = map[string]string{}
				}
			}
			d, b := splitName(h.name)
			d = strings.TrimSuffix(d, "/")
			if d == "" {
				d = "."
			}
			if children[d] == nil {
				children[d] = map[string]string{}
			}
			children[d][b] = h.typ
			if h.typ != "file" {
				continue
			}
			checkedFiles++
			e, err := Lookup(context.Background(), layers, h.name)
			if err != nil {
				t.Errorf("seed %d: Lookup(%q) = %v, want the file Flatten wrote", seed, h.name, err)
				continue
			}
			body, _ := io.ReadAll(e.Body)
			mustClose(t, e)
			if !bytes.Equal(body, h.body) || e.Type != "file" {
				t.Errorf("seed %d: Lookup(%q) = %s %d bytes, want file %d bytes", seed, h.name, e.Type, len(body), len(h.body))
			}
		}
		nonDir := map[string]bool{}
		for _, h := range headers(t, out) {
			if h.typ != "dir" {
				nonDir[h.name] = true
			}
		}
		for d, want := range children {
			// Flatten may write entries below a name that a lower layer
			// writes as a file or link; such a tree has no single answer.
			if conflicted(d, nonDir) {
				continue
			}
			checkedDirs++
			e, err := Lookup(context.Background(), layers, d)
			if err != nil || e.Type != "dir" {
				t.Errorf("seed %d: Lookup(%q) = %v, %v, want a directory", seed, d, e, err)
				continue
			}
			got := map[string]string{}
			for _, c := range e.Entries {
				got[c.Name] = c.Type
			}
			for name, typ := range want {
				if got[name] != typ {
					t.Errorf("seed %d: Lookup(%q) child %q = %q, want %q", seed, d, name, got[name], typ)
				}
			}
		}
	}
	if checkedFiles < 200 || checkedDirs < 200 {
		t.Errorf("checked %d files and %d directories, want at least 200 of each", checkedFiles, checkedDirs)
	}
}

type hdr struct {
	name, typ string
	body      []byte
}

func headers(tb testing.TB, b []byte) []hdr {
	tb.Helper()
	return readAll(tb, b)
}

// conflicted reports whether name or one of its ancestors is a non-directory.
func conflicted(name string, nonDir map[string]bool) bool {
	for ; name != "." && name != ""; name = path.Dir(name) {
		if nonDir[name] {
			return true
		}
	}
	return false
}
