package bombtest

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
)

// TestPAX reads PAX's streams back with archive/tar: every entry with the
// fields its records give, whether the entries share a prefix or not.
func TestPAX(t *testing.T) {
	long := strings.Repeat("a", 100_000)
	tests := []struct {
		name string
		typ  byte
		rec  func(i int) []Record
		want func(i int) *tar.Header
	}{
		{"long names", tar.TypeReg,
			func(i int) []Record { return []Record{{"path", long + fmt.Sprint(i)}} },
			func(i int) *tar.Header { return &tar.Header{Name: long + fmt.Sprint(i), Typeflag: tar.TypeReg} }},
		{"large record, then the name", tar.TypeDir,
			func(i int) []Record {
				return []Record{{"SCHILY.xattr.user.pad", long}, {"path", fmt.Sprintf("d%d/", i)}}
			},
			func(i int) *tar.Header {
				return &tar.Header{Name: fmt.Sprintf("d%d/", i), Typeflag: tar.TypeDir,
					PAXRecords: map[string]string{"SCHILY.xattr.user.pad": long}}
			}},
		{"nothing shared", tar.TypeSymlink,
			func(i int) []Record { return []Record{{"linkpath", fmt.Sprint(i) + long}} },
			func(i int) *tar.Header {
				return &tar.Header{Name: "pax-entry", Linkname: fmt.Sprint(i) + long, Typeflag: tar.TypeSymlink}
			}},
	}
	for _, tc := range tests {
		for _, gz := range []bool{false, true} {
			t.Run(fmt.Sprint(tc.name, " gzip=", gz), func(t *testing.T) {
				const n = 12
				var r io.Reader = bytes.NewReader(PAX(t, n, tc.typ, tc.rec, gz))
				if gz {
					zr, err := gzip.NewReader(r)
					if err != nil {
						t.Fatal(err)
					}
					r = zr
				}
				tr := tar.NewReader(r)
				for i := 0; ; i++ {
					h, err := tr.Next()
					if err == io.EOF {
						if i != n {
							t.Errorf("read %d entries, want %d", i, n)
						}
						break
					}
					if err != nil {
						t.Fatalf("entry %d: %v", i, err)
					}
					want := tc.want(i)
					got := &tar.Header{Name: h.Name, Linkname: h.Linkname, Typeflag: h.Typeflag}
					if len(want.PAXRecords) > 0 {
						got.PAXRecords = h.PAXRecords
						delete(got.PAXRecords, "path")
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Fatalf("entry %d (-want +got):\n%.300s", i, diff)
					}
				}
			})
		}
	}
}

// TestPeakHeap: an allocation f makes, and keeps past its return, is seen.
func TestPeakHeap(t *testing.T) {
	var keep []byte
	peak, err := PeakHeap(func() error {
		keep = make([]byte, 64<<20)
		return io.EOF
	})
	if !errors.Is(err, io.EOF) {
		t.Errorf("PeakHeap() error = %v, want f's", err)
	}
	if peak < 64<<20 || peak > 96<<20 {
		t.Errorf("PeakHeap() of a 64 MiB allocation = %d MiB", peak>>20)
	}
	_ = keep[0]
}

// TestRecordLen checks recordLen where the length's digits carry over.
func TestRecordLen(t *testing.T) {
	for m := 1; m < 20_000; m++ {
		r := Record{Key: "k", Value: strings.Repeat("v", m)}
		want := len(paxRecordString(r))
		if got := recordLen(r); got != want {
			t.Fatalf("recordLen(value of %d) = %d, want %d", m, got, want)
		}
	}
}

// paxRecordString formats a record as archive/tar's formatPAXRecord does.
func paxRecordString(r Record) string {
	size := len(r.Key) + len(r.Value) + 3
	size += len(strconv.Itoa(size))
	s := strconv.Itoa(size) + " " + r.Key + "=" + r.Value + "\n"
	if len(s) != size {
		s = strconv.Itoa(len(s)) + " " + r.Key + "=" + r.Value + "\n"
	}
	return s
}
