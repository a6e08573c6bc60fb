package transfer

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/regapi/regapi/internal/bombtest"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// TestLoadNameLimits: the tar index keeps every file's name; names over
// 4096 bytes, names that add up to more than 4 MiB, are refused as soon as
// they are read, and a short name is kept without the PAX block it was read
// from. Spool and Load together stay within a few MiB of heap.
func TestLoadNameLimits(t *testing.T) {
	pad := strings.Repeat("x", 1_000_000)
	tests := []struct {
		name  string
		tar   []byte
		bound uint64
		want  string // in the error
	}{
		// The long-names attack: 100 MB of names in 100 KB.
		{"1 MB names", bombtest.LongNames(t, 100, tar.TypeReg, "path", 1_000_000, true), 32 << 20, "is 1000000 bytes, more than 4096"},
		{"1 MB link targets", bombtest.LongNames(t, 100, tar.TypeSymlink, "linkpath", 1_000_000, true), 32 << 20, "is 1000000 bytes, more than 4096"},
		{"just over the limit", bombtest.LongNames(t, 3, tar.TypeReg, "path", maxTarName+1, true), 32 << 20, "more than 4096"},
		// 8 MB of names within the limit each; 4 MiB are kept at most.
		{"names past the total", bombtest.LongNames(t, 2000, tar.TypeReg, "path", 4000, true), 32 << 20, "add up to more than 4194304 bytes"},
		// Short names read from PAX blocks of 1 MB: 100 MB if kept with
		// their blocks.
		{"short names in large records", bombtest.PAX(t, 100, tar.TypeReg, func(i int) []bombtest.Record {
			return []bombtest.Record{{Key: "SCHILY.xattr.user.pad", Value: pad}, {Key: "path", Value: fmt.Sprintf("f%04d", i)}}
		}, true), 32 << 20, "neither manifest.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s *Spooled
			peak, err := bombtest.PeakHeap(func() error {
				var err error
				if s, err = Spool(t.Context(), bytes.NewReader(tc.tar), t.TempDir(), 1<<30); err != nil {
					return err
				}
				_, err = Load(s)
				return err
			})
			if s != nil {
				closeSpool(t, s)
			}
			if !errors.Is(err, ErrInvalidTarball) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load = %.200v, want ErrInvalidTarball with %q", err, tc.want)
			}
			if peak > tc.bound {
				t.Errorf("Spool and Load: peak heap growth %d MiB, want at most %d MiB", peak>>20, tc.bound>>20)
			}
		})
	}
}

// TestLoadNamesAtTheLimit: a docker archive with an extra file whose name
// has exactly 4096 bytes loads.
func TestLoadNamesAtTheLimit(t *testing.T) {
	img := dockerTar(t, registrytest.RandomImage(t, 1))
	long := strings.Repeat("d/", maxTarName/2-1) + "ff"
	b := mutateTar(t, img, func(f []tfile) []tfile { return append(f, tfile{name: long, body: []byte("x")}) })
	if _, err := Load(spoolBytes(t, b)); err != nil {
		t.Errorf("Load with a name of %d bytes = %v, want it loaded", len(long), err)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestSpoolStopsAtTheHeader: an upload whose tar passes a bound on names
// is refused while it is being spooled, at the header that passes it, not
// after its whole body is read and written to disk. The tar here is a
// header with a 1 MB name followed by 256 MiB of data.
func TestSpoolStopsAtTheHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		head []byte
		want string
	}{
		{"a 1 MB name", bombtest.LongNames(t, 1, tar.TypeReg, "path", 1_000_000, false), "more than 4096"},
		{"names past the total", bombtest.LongNames(t, 2000, tar.TypeReg, "path", 4000, false), "add up to more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingReader{r: io.MultiReader(bytes.NewReader(tc.head), io.LimitReader(zeros{}, 256<<20))}
			dir := t.TempDir()
			s, err := Spool(t.Context(), body, dir, 1<<30)
			if err == nil {
				closeSpool(t, s)
			}
			if !errors.Is(err, ErrInvalidTarball) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Spool = %.200v, want ErrInvalidTarball with %q", err, tc.want)
			}
			if limit := int64(len(tc.head)) + 8<<20; body.n > limit {
				t.Errorf("Spool read %d MiB of the body before refusing it, want at most %d MiB", body.n>>20, limit>>20)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("Spool left %d files in the spool directory", len(entries))
			}
		})
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
