package extract

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/bombtest"
)

// fuzzLayers splits data at split into two layers (base, top) read as
// uncompressed blobs; a layer that starts with gzip or zstd magic is
// decompressed, so the decoders are fuzzed too.
func fuzzLayers(t *testing.T, data []byte, split uint16) []v1.Layer {
	s := min(int(split), len(data))
	return []v1.Layer{
		blobLayer(t, data[:s], types.OCIUncompressedLayer, nil),
		blobLayer(t, data[s:], types.OCIUncompressedLayer, nil),
	}
}

// fuzzSeeds adds the hand-built images, as two tar layers and as gzip.
func fuzzSeeds(f *testing.F, add func(data []byte, split uint16)) {
	for _, tc := range handBuilt {
		var base, top []byte
		base = tarBytes(f, tc.layers[0]...)
		if len(tc.layers) > 1 {
			top = tarBytes(f, tc.layers[len(tc.layers)-1]...)
		}
		add(append(bytes.Clone(base), top...), uint16(len(base))) //nolint:gosec // G115: the seed tars are a few KiB
	}
	add(gzipBytes(f, tarBytes(f, lookupImage[0]...)), 0xffff)
	add(zstdBytes(f, tarBytes(f, lookupImage[1]...)), 0)
	add(tarBytes(f, file("../escape", "x"), file("/abs", "y"), symlink("l", "../../x")), 0)
	// Names at and over the limits: one name, one link target, and more
	// names than fuzzNameBytes keeps.
	long := strings.Repeat("n", maxNameLen)
	add(tarBytes(f, file(long, "x"), symlink("l", long)), 0)
	add(tarBytes(f, file(long+"n", "x")), 0)
	add(tarBytes(f, symlink("l", long+"n")), 0)
	var many []tent
	for i := range 100 {
		many = append(many, file(fmt.Sprintf("d/%03d", i), ""))
	}
	add(tarBytes(f, many...), 0)
	add(bombtest.PAX(f, 3, tar.TypeDir, func(i int) []bombtest.Record {
		return []bombtest.Record{{Key: "SCHILY.xattr.user.pad", Value: strings.Repeat("x", 64<<10)}, {Key: "path", Value: fmt.Sprint("d", i)}}
	}, false), 0)
	add([]byte{}, 0)
}

// fuzzNameBytes is the names budget under fuzzing, small enough that inputs
// reach it.
const fuzzNameBytes = 4 << 10

var fuzzLimits = []Option{WithMaxBytes(64 << 20), WithMaxFileSize(1 << 20), WithMaxNameBytes(fuzzNameBytes)}

// checkNames fails t if a tar Flatten wrote holds a name or link target
// over maxNameLen, or more names than the budget keeps (every name written
// was kept).
func checkNames(t *testing.T, b []byte) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var cost int
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if len(h.Name) > maxNameLen || len(h.Linkname) > maxNameLen {
			t.Errorf("Flatten wrote an entry with a name of %d and a link target of %d bytes, over %d", len(h.Name), len(h.Linkname), maxNameLen)
		}
		cost += len(h.Name) + keptEntryCost
	}
	if cost > fuzzNameBytes {
		t.Errorf("Flatten wrote names that cost %d bytes to keep, over the budget of %d", cost, fuzzNameBytes)
	}
}

// FuzzFlatten feeds arbitrary bytes as layers. Flatten must not panic or
// hang, and whenever mutate.Extract accepts the layers and writes no
// absolute name, Flatten must write the same bytes.
func FuzzFlatten(f *testing.F) {
	fuzzSeeds(f, func(data []byte, split uint16) { f.Add(data, split) })
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		defer watchdog(10 * time.Second)()
		layers := fuzzLayers(t, data, split)
		var got bytes.Buffer
		err := Flatten(context.Background(), &got, layers, fuzzLimits...)
		if err == nil {
			checkNames(t, got.Bytes())
		}
		want, craneErr := craneExport(t, layers)
		if craneErr != nil || err != nil {
			return // ours may fail where crane's tar reader is lenient about trailing bytes, and vice versa
		}
		for _, e := range listTar(t, want) {
			if strings.HasPrefix(e, "/") || strings.HasPrefix(e, "error") {
				return
			}
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("Flatten differs from mutate.Extract:\n flatten %q\n crane   %q", listTar(t, got.Bytes()), listTar(t, want))
		}
	})
}

// FuzzLookup feeds arbitrary layers and paths. Lookup must not panic or
// hang, and a returned file body must hold Size bytes.
func FuzzLookup(f *testing.F) {
	fuzzSeeds(f, func(data []byte, split uint16) {
		for _, p := range []string{"/", "/etc/passwd", "/bin/env", "/etc", "/loop1"} {
			f.Add(data, split, p)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte, split uint16, p string) {
		defer watchdog(10 * time.Second)()
		e, err := Lookup(context.Background(), fuzzLayers(t, data, split), p, fuzzLimits...)
		if err != nil {
			return
		}
		defer mustClose(t, e)
		if !strings.HasPrefix(e.Path, "/") || path.Clean(e.Path) != e.Path {
			t.Errorf("Lookup(%q).Path = %q, want an absolute path inside the root", p, e.Path)
		}
		if n := len(e.Entries) * keptEntryCost; n > fuzzNameBytes {
			t.Errorf("Lookup(%q) lists %d entries, more than the names budget keeps", p, len(e.Entries))
		}
		for _, d := range e.Entries {
			if len(d.Name) > maxNameLen || len(d.LinkTarget) > maxNameLen {
				t.Errorf("Lookup(%q) lists a name of %d and a link target of %d bytes, over %d", p, len(d.Name), len(d.LinkTarget), maxNameLen)
			}
		}
		if e.Body != nil {
			n, err := io.Copy(io.Discard, e.Body)
			if err == nil && n != e.Size {
				t.Errorf("Lookup(%q) body = %d bytes, want Size %d", p, n, e.Size)
			}
		}
	})
}

// FuzzResolveLink checks that link resolution never leaves the root.
func FuzzResolveLink(f *testing.F) {
	for _, s := range [][2]string{{"a/b", "../../../etc"}, {"x", "/abs/../.."}, {".", ".."}, {"a", "b/./c//"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, target string) {
		r := resolveLink(name, target)
		if r == ".." || strings.HasPrefix(r, "../") || strings.HasPrefix(r, "/") || r == "" {
			t.Errorf("resolveLink(%q, %q) = %q, want a name inside the root", name, target, r)
		}
		if c, err := cleanImagePath(target); err == nil && (strings.HasPrefix(c, "../") || strings.HasPrefix(c, "/")) {
			t.Errorf("cleanImagePath(%q) = %q, want a name inside the root", target, c)
		}
	})
}

// watchdog panics with every goroutine's stack if the returned stop is not
// called within d: Go's fuzzing has no per-input timeout, and a hang would
// otherwise only stall the engine. The panic makes the input a failure.
func watchdog(d time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(d):
			buf := make([]byte, 1<<20)
			panic("input took over " + d.String() + ":\n" + string(buf[:runtime.Stack(buf, true)]))
		}
	}()
	return func() { close(done) }
}
