package transfer

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// FuzzLoad feeds arbitrary bytes through Spool and Load. Neither may panic;
// every rejection must be ErrInvalidTarball (or ErrTooLarge from the spool),
// and an accepted artifact must serve its manifest and every blob. The seeds
// (good archives of both formats, plain and gzip, and every corrupt case of
// TestLoadRejects) run as a normal test.
func FuzzLoad(f *testing.F) {
	img := registrytest.RandomImage(f, 2)
	f.Add(dockerTar(f, img))
	f.Add(gz(f, dockerTar(f, img)))
	f.Add(gunzipLayers(f, dockerTar(f, img)))
	f.Add(symlinkLayer(f, dockerTar(f, img)))
	f.Add(layoutTar(f, img))
	f.Add(layoutTar(f, registrytest.RandomIndex(f)))
	for _, b := range corruptCases(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(20 * time.Second)()
		s, err := Spool(t.Context(), bytes.NewReader(data), t.TempDir(), 16<<20)
		if err != nil {
			if !errors.Is(err, ErrInvalidTarball) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Spool = %v, want ErrInvalidTarball or ErrTooLarge", err)
			}
			return
		}
		defer closeSpool(t, s)
		a, err := Load(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidTarball) {
				t.Fatalf("Load = %v, want ErrInvalidTarball", err)
			}
			return
		}
		readAll(t, a)
	})
}

// readAll reads an accepted artifact's manifests and blobs as a push would.
func readAll(t *testing.T, a Artifact) {
	t.Helper()
	if _, err := a.Digest(); err != nil {
		t.Fatalf("Digest of an accepted artifact = %v", err)
	}
	if a.Index != nil {
		im, err := a.Index.IndexManifest()
		if err != nil {
			t.Fatalf("IndexManifest = %v", err)
		}
		for _, d := range im.Manifests {
			if d.MediaType.IsImage() {
				img, err := a.Index.Image(d.Digest)
				if err != nil {
					t.Fatalf("Image(%s) = %v", d.Digest, err)
				}
				readAll(t, Artifact{Image: img})
			}
		}
		return
	}
	if _, err := a.Image.RawConfigFile(); err != nil {
		t.Fatalf("RawConfigFile = %v", err)
	}
	layers, err := a.Image.Layers()
	if err != nil {
		t.Fatalf("Layers = %v", err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("Compressed = %v", err)
		}
		_, err = io.Copy(io.Discard, rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("read layer = %v", err)
		}
	}
}

// watchdog panics with every goroutine's stack if an input takes longer than
// d, so that a hang shows up as a failing input instead of a stalled fuzzer.
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
