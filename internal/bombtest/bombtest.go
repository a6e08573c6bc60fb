// Package bombtest builds hostile tar streams for tests: entries whose
// names, link targets or other fields come from PAX records of up to 1 MiB
// each (archive/tar reads that much per header), in a gzip stream that
// compresses about a thousandfold. And it measures the heap a call takes
// while it reads one.
package bombtest

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Record is one PAX record: "path", "linkpath", "SCHILY.xattr.…" and so on.
type Record struct {
	Key, Value string
}

const (
	blockSize = 512        // tar's unit
	mtime     = 1704164645 // 2024-01-02T03:04:05Z, as the packages' tests use
)

// PAX returns a tar stream of n entries of type typ (empty regular files,
// directories, links) whose fields come from PAX records: entry i has the
// records rec(i) returns, in that order. Without a "path" record an entry is
// named "pax-entry". With gz the stream is gzip-compressed.
//
// Building stays cheap however large the tar: entries must differ only
// after a common prefix (write the long, constant part of the records first
// and what tells entries apart last, such as a counter of fixed width); the
// prefix is the one entries 0, 1 and n-1 share, and an entry without it is
// written whole, which is correct but slow. With gz, that prefix is compressed
// once and reused, and the rest of each entry is a gzip member of its own; a
// gzip reader reads concatenated members as one stream.
func PAX(tb testing.TB, n int, typ byte, rec func(i int) []Record, gz bool) []byte {
	tb.Helper()
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	if err != nil {
		tb.Fatal(err)
	}
	member := func(b []byte) {
		if !gz {
			out.Write(b)
			return
		}
		zw.Reset(&out)
		if _, err := zw.Write(b); err != nil {
			tb.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	first := entry(typ, rec(0))
	shared := len(first)
	for _, i := range []int{1, n - 1} { // with a counter, they differ soonest
		if i > 0 {
			shared = min(shared, commonPrefix(first, entry(typ, rec(i))))
		}
	}
	prefix := first[:shared]
	var prefixMember []byte
	if gz {
		var b bytes.Buffer
		zw.Reset(&b)
		if _, err := zw.Write(prefix); err != nil {
			tb.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			tb.Fatal(err)
		}
		prefixMember = b.Bytes()
	}
	for i := range n {
		e := first
		if i > 0 {
			e = entry(typ, rec(i))
		}
		if !bytes.HasPrefix(e, prefix) {
			member(e)
			continue
		}
		if gz {
			out.Write(prefixMember)
		} else {
			out.Write(prefix)
		}
		member(e[shared:])
	}
	member(make([]byte, 2*blockSize)) // the end of the archive
	return out.Bytes()
}

// LongNames returns a tar stream, gzip-compressed with gz, of n entries of
// type typ whose key record ("path" or "linkpath") is a distinct value of
// size bytes; an entry with a long "linkpath" is named "l" and its number.
// This is the long-names attack: a reader without a byte bound keeps n*size
// bytes of names, and the gzip stream holds them in about a thousandth.
func LongNames(tb testing.TB, n int, typ byte, key string, size int, gz bool) []byte {
	tb.Helper()
	run := strings.Repeat("a", size-8)
	return PAX(tb, n, typ, func(i int) []Record {
		c := fmt.Sprintf("%08d", i)
		recs := []Record{{Key: key, Value: run + c}}
		if key != "path" {
			recs = append(recs, Record{Key: "path", Value: "l" + c})
		}
		return recs
	}, gz)
}

// entry returns the tar bytes of one entry: a PAX extended header holding
// recs, then the entry's own header. It allocates once: the records may be
// large, and the race detector makes every large allocation slow.
func entry(typ byte, recs []Record) []byte {
	size := 0
	for _, r := range recs {
		size += recordLen(r)
	}
	b := make([]byte, 0, 2*blockSize+size+pad(size))
	b = append(b, header("PaxHeader", 'x', size)...)
	for _, r := range recs {
		b = strconv.AppendInt(b, int64(recordLen(r)), 10)
		b = append(b, ' ')
		b = append(b, r.Key...)
		b = append(b, '=')
		b = append(b, r.Value...)
		b = append(b, '\n')
	}
	b = append(b, make([]byte, pad(size))...)
	return append(b, header("pax-entry", typ, 0)...)
}

// recordLen is the length of the record "<length> <key>=<value>\n", the
// length counting its own digits, as archive/tar formats it.
func recordLen(r Record) int {
	m := len(r.Key) + len(r.Value) + 3 // the space, '=' and '\n'
	n := m + len(strconv.Itoa(m))
	if d := len(strconv.Itoa(n)); d != len(strconv.Itoa(m)) { // the digits made it longer
		n = m + d
	}
	return n
}

// header returns a ustar header block.
func header(name string, typ byte, size int) []byte {
	b := make([]byte, blockSize)
	copy(b[0:100], name)
	copy(b[100:], "0000644\x00")                  // mode
	copy(b[108:], "0000000\x00")                  // uid
	copy(b[116:], "0000000\x00")                  // gid
	copy(b[124:], fmt.Sprintf("%011o\x00", size)) // size
	copy(b[136:], fmt.Sprintf("%011o\x00", mtime))
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	copy(b[148:156], "        ") // the checksum counts its own field as spaces
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func pad(n int) int { return (blockSize - n%blockSize) % blockSize }

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// PeakHeap runs f and returns the highest growth of HeapInuse seen while it
// ran, sampled every millisecond and once after it returned. The GC runs at GOGC=10 meanwhile, so that
// the figure is close to the live heap rather than to garbage the collector
// has not reached yet. Whatever else the process does meanwhile counts too:
// call it only from tests that do not run in parallel.
func PeakHeap(f func() error) (uint64, error) {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	done := make(chan struct{})
	result := make(chan uint64)
	go func() {
		var peak uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for stop := false; ; {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base {
				peak = max(peak, ms.HeapInuse-base)
			}
			if stop { // the sample taken after f returned
				result <- peak
				return
			}
			select {
			case <-done:
				stop = true
			case <-t.C:
			}
		}
	}()
	err := f()
	close(done)
	return <-result, err
}
