package extract

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// An Index travels between replicas (regapi's shared cache tier) in this
// form: a magic, the sha256 of the payload, then the payload, every number
// a varint. The reader trusts nothing: the checksum catches a damaged
// value, and every count, length and node reference is checked against
// what remains and what the index holds, so that a value that is wrong in
// any way is an error, never a panic or an answer from a broken tree.

// indexMagic starts an encoded Index; its last byte is the format version.
var indexMagic = []byte("RGXI\x01")

// ErrBadIndex reports an encoded Index that cannot be read back.
var ErrBadIndex = errors.New("bad encoded file index")

// MarshalBinary encodes ix for UnmarshalIndex.
func (ix *Index) MarshalBinary() ([]byte, error) {
	var p []byte
	u := func(v uint64) { p = binary.AppendUvarint(p, v) }
	s := func(v int64) { p = binary.AppendVarint(p, v) }
	str := func(v string) { u(uint64(len(v))); p = append(p, v...) }
	u(uint64(len(ix.nodes)))
	for i := range ix.nodes {
		n := &ix.nodes[i]
		str(n.name)
		s(int64(n.parent))
		s(int64(n.kids))
		s(int64(n.nkids))
		s(n.seq)
		s(int64(n.layer))
		s(int64(n.pos))
		u(uint64(n.typ))
		s(n.mode)
		s(n.size)
		s(n.offset)
		s(n.mtime.UnixNano())
		str(n.link)
		s(n.tomb)
		s(int64(n.opaque))
		s(n.desc)
	}
	u(uint64(len(ix.kids)))
	for _, k := range ix.kids {
		s(int64(k))
	}
	u(uint64(len(ix.layerStart)))
	for _, v := range ix.layerStart {
		s(v)
	}
	s(ix.bytes)
	sum := sha256.Sum256(p)
	out := make([]byte, 0, len(indexMagic)+len(sum)+len(p))
	out = append(append(append(out, indexMagic...), sum[:]...), p...)
	return out, nil
}

// UnmarshalIndex reads back what MarshalBinary wrote. An index whose
// memory (as Index.Bytes counts it) is over maxBytes is refused, as
// NewIndexBuilder(maxBytes) would have refused to build it.
func UnmarshalIndex(b []byte, maxBytes int64) (*Index, error) {
	if !bytes.HasPrefix(b, indexMagic) || len(b) < len(indexMagic)+sha256.Size {
		return nil, fmt.Errorf("%w: not one", ErrBadIndex)
	}
	sum, p := b[len(indexMagic):len(indexMagic)+sha256.Size], b[len(indexMagic)+sha256.Size:]
	if got := sha256.Sum256(p); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrBadIndex)
	}
	d := &decoder{p: p}
	ix := &Index{}
	nn := d.count(8) // a node takes more than 8 bytes
	ix.nodes = make([]node, nn)
	for i := range ix.nodes {
		n := &ix.nodes[i]
		n.name = d.str()
		n.parent = d.i32()
		n.kids = d.i32()
		n.nkids = d.i32()
		n.seq = d.i64()
		n.layer = d.i32()
		n.pos = d.i32()
		n.typ = byte(d.uint(math.MaxUint8)) //nolint:gosec // G115: uint bounds it to MaxUint8
		n.mode = d.i64()
		n.size = d.i64()
		n.offset = d.i64()
		n.mtime = time.Unix(0, d.i64())
		n.link = d.str()
		n.tomb = d.i64()
		n.opaque = d.i32()
		n.desc = d.i64()
	}
	ix.kids = make([]int32, d.count(1))
	for i := range ix.kids {
		ix.kids[i] = d.i32()
	}
	ix.layerStart = make([]int64, d.count(1))
	for i := range ix.layerStart {
		ix.layerStart[i] = d.i64()
	}
	ix.bytes = d.i64()
	if d.err != nil {
		return nil, d.err
	}
	if len(d.p) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the index", ErrBadIndex, len(d.p))
	}
	if err := ix.check(maxBytes); err != nil {
		return nil, err
	}
	return ix, nil
}

// check verifies the tree's references, so that no lookup can step
// outside it.
func (ix *Index) check(maxBytes int64) error {
	if len(ix.nodes) > math.MaxInt32 || len(ix.layerStart) > math.MaxInt32 {
		return fmt.Errorf("%w: too many nodes or layers", ErrBadIndex)
	}
	n := int32(len(ix.nodes)) //nolint:gosec // G115: checked just above
	if n == 0 || len(ix.layerStart) == 0 || ix.nodes[0].parent != -1 {
		return fmt.Errorf("%w: no root", ErrBadIndex)
	}
	if ix.bytes < 0 || ix.bytes > maxBytes {
		return fmt.Errorf("%w: %d bytes, over the %d allowed", ErrBadIndex, ix.bytes, maxBytes)
	}
	layers := int32(len(ix.layerStart) - 1) //nolint:gosec // G115: checked at the top
	entries := ix.layerStart[len(ix.layerStart)-1]
	for i := range ix.nodes {
		nd := &ix.nodes[i]
		if i > 0 && (nd.parent < 0 || nd.parent >= n) ||
			nd.kids < 0 || nd.nkids < 0 || int64(nd.kids)+int64(nd.nkids) > int64(len(ix.kids)) ||
			nd.seq >= 0 && (nd.layer < 0 || nd.layer >= layers) ||
			nd.opaque < -1 || nd.opaque >= layers || nd.pos < 0 || nd.size < 0 || nd.offset < -1 ||
			nd.seq > entries || nd.tomb > entries || nd.desc > entries {
			return fmt.Errorf("%w: node %d refers outside the index", ErrBadIndex, i)
		}
	}
	for _, k := range ix.kids {
		if k <= 0 || k >= n {
			return fmt.Errorf("%w: child %d outside the index", ErrBadIndex, k)
		}
	}
	for i := 1; i < len(ix.layerStart); i++ {
		if ix.layerStart[i] < ix.layerStart[i-1] {
			return fmt.Errorf("%w: layers out of order", ErrBadIndex)
		}
	}
	return nil
}

// decoder reads varints off p, remembering the first error.
type decoder struct {
	p   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrBadIndex, what)
	}
	d.p = nil
}

func (d *decoder) uint(max uint64) uint64 {
	v, n := binary.Uvarint(d.p)
	if n <= 0 || v > max {
		d.fail("bad number")
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) i64() int64 {
	v, n := binary.Varint(d.p)
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) i32() int32 {
	v := d.i64()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("number out of range")
		return 0
	}
	return int32(v)
}

// count reads a number of items of at least per bytes each: never more
// than what remains could hold.
func (d *decoder) count(per int) int {
	return int(d.uint(uint64(len(d.p) / per))) //nolint:gosec // G115: a length is not negative, and what uint returns is at most it
}

func (d *decoder) str() string {
	l := d.uint(uint64(len(d.p)))
	if d.err != nil {
		return ""
	}
	if l > uint64(len(d.p)) {
		d.fail("string past the end")
		return ""
	}
	s := string(d.p[:l])
	d.p = d.p[l:]
	return s
}
