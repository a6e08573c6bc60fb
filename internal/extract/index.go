package extract

import (
	"archive/tar"
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"
	"time"
)

// ErrNoIndex reports an image Flatten could not index: its index would pass
// the builder's byte bound, or the image is a single artifact blob rather
// than a filesystem. Both are properties of the image; asking again gives
// the same answer.
var ErrNoIndex = errors.New("no file index for this image")

// An Index is what Flatten learned of an image while it walked the whole
// tree: every name the merge decided about, in a tree, and when (in the
// top-down order of the walk) each was written, whited out or made opaque.
// With it, Index.Lookup answers exactly what Lookup answers without reading
// the layers, except a regular file's bytes, read from the one layer that
// holds them, at the offset the index recorded.
//
// An Index never changes once built and is safe for concurrent use.
type Index struct {
	nodes []node  // nodes[0] is the root, "."
	kids  []int32 // each node's children, nodes[i].kids… in name order
	// layerStart[i] is the sequence number of the first entry of the i-th
	// layer from the top; layerStart[len] is the number of entries.
	layerStart []int64
	bytes      int64
}

// node is one name of the image, with the events about it. A sequence
// number is the entry's rank in the walk: all layers, top down, every
// entry counted; -1 is "never".
type node struct {
	name   string // base name; "." for the root
	parent int32
	kids   int32 // first child in Index.kids (after freeze)
	nkids  int32

	// The entry Flatten wrote under this name, if seq >= 0.
	seq    int64
	layer  int32 // manifest index of its layer, the base layer 0
	pos    int32 // its rank among the entries of its layer
	typ    byte
	mode   int64
	size   int64
	offset int64 // where its bytes start in the layer's tar; -1 for none (sparse)
	mtime  time.Time
	link   string

	tomb   int64 // the whiteout that took effect on this name
	opaque int32 // the top-down layer of the first opaque marker for it; -1 none
	desc   int64 // the first entry strictly below this name that Lookup observes
}

// nodeCost approximates a node's memory besides its strings: the struct
// (about 150 bytes), its slot in kids and, while building, its map entry.
const nodeCost = 200

// DefaultIndexBytes is a sensible per-image bound for NewIndexBuilder:
// about 250,000 entries with names of 70 bytes, more than the largest
// images hold.
const DefaultIndexBytes = 64 << 20

// IndexBuilder collects an Index while Flatten walks an image; give it to
// Flatten with WithIndex. One builder serves one Flatten call.
type IndexBuilder struct {
	maxBytes int64
	bytes    int64
	err      error // why there is no index; set once

	byName map[string]int32
	nodes  []node

	layers     int
	layerStart []int64
	seq        int64 // the current entry's sequence number
	topLayer   int32 // the current layer, from the top
	pos        int32
	done       bool
}

// NewIndexBuilder returns a builder whose index may hold at most maxBytes
// of names and per-entry bookkeeping; past it the index is abandoned
// (Index returns ErrNoIndex) and Flatten goes on unaffected.
func NewIndexBuilder(maxBytes int64) *IndexBuilder {
	b := &IndexBuilder{maxBytes: maxBytes, byName: map[string]int32{}, seq: -1}
	b.nodes = append(b.nodes, newNode(".", -1))
	b.byName["."] = 0
	b.bytes = nodeCost + 1
	return b
}

// WithIndex makes Flatten build the image's file index into b as it walks
// the layers, at no extra read. Only a whole-tree Flatten builds one: with
// WithSubtree, or for a single artifact blob, b reports ErrNoIndex. The
// default value builds none.
func WithIndex(b *IndexBuilder) Option {
	return func(o *options) error {
		if b == nil {
			return errors.New("nil index builder")
		}
		o.index = b
		return nil
	}
}

// Index returns the index built by the Flatten call that b was given to,
// or why there is none: ErrNoIndex, or the error that ended Flatten.
func (b *IndexBuilder) Index() (*Index, error) {
	if b.err != nil {
		return nil, b.err
	}
	if !b.done {
		return nil, errors.New("index: flatten did not finish")
	}
	return b.freeze(), nil
}

func newNode(name string, parent int32) node {
	return node{name: name, parent: parent, seq: -1, offset: -1, tomb: -1, opaque: -1, desc: -1}
}

// fail abandons the index; the first reason stays.
func (b *IndexBuilder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
	b.byName, b.nodes = nil, nil
}

func (b *IndexBuilder) beginLayer(top int) {
	b.topLayer, b.pos = int32(top), 0 //nolint:gosec // G115: a rank among an image's layers, far below 2^31
	b.layerStart = append(b.layerStart, b.seq+1)
}

// beginEntry numbers the next entry, before the merger visits it.
func (b *IndexBuilder) beginEntry() { b.seq++ }

// finish closes the walk of layers layers.
func (b *IndexBuilder) finish(layers int) {
	b.layers = layers
	b.layerStart = append(b.layerStart, b.seq+1)
	b.done = true
}

// node returns the index of name's node, making it and its ancestors.
func (b *IndexBuilder) node(name string) (int32, bool) {
	if i, ok := b.byName[name]; ok {
		return i, true
	}
	p, ok := b.node(path.Dir(name))
	if !ok {
		return 0, false
	}
	b.bytes += nodeCost + int64(len(name))
	if b.bytes > b.maxBytes {
		b.fail(fmt.Errorf("the file index passes %d bytes: %w", b.maxBytes, ErrNoIndex))
		return 0, false
	}
	n := len(b.nodes)
	if n >= math.MaxInt32 { // nodes are numbered by int32
		b.fail(fmt.Errorf("the file index passes %d entries: %w", math.MaxInt32, ErrNoIndex))
		return 0, false
	}
	// One copy: the map key and the base name share it. As read, name may
	// share a whole PAX block (see merger.keep).
	name = strings.Clone(name)
	i := int32(n)
	b.nodes = append(b.nodes, newNode(path.Base(name), p))
	b.byName[name] = i
	return i, true
}

func (b *IndexBuilder) whitedOut(name string) {
	if b.err != nil {
		return
	}
	if i, ok := b.node(name); ok && b.nodes[i].tomb < 0 {
		b.nodes[i].tomb = b.seq
	}
}

func (b *IndexBuilder) opaqued(dir string) {
	if b.err != nil {
		return
	}
	if i, ok := b.node(dir); ok && b.nodes[i].opaque < 0 {
		b.nodes[i].opaque = b.topLayer
	}
}

// visited records the merger's verdict on h, whose name it merged to
// name; offset is where h's bytes start in the layer's tar.
func (b *IndexBuilder) visited(name string, v verdict, h *tar.Header, offset int64) {
	pos := b.pos
	b.pos++
	if b.err != nil {
		return
	}
	if v == emitted {
		i, ok := b.node(name)
		if !ok {
			return
		}
		b.bytes += int64(len(h.Linkname))
		n := &b.nodes[i]
		n.seq, n.layer, n.pos = b.seq, b.topLayer, pos // made the manifest index by freeze
		n.typ, n.mode, n.size, n.mtime = h.Typeflag, h.Mode, h.Size, h.ModTime
		n.link = strings.Clone(h.Linkname)
		if !sparse(h) {
			n.offset = offset
		}
	}
	// Lookup notes every entry it reads below a directory's child as that
	// child's evidence, hidden or not, except whiteouts (see observe).
	if (v == emitted || v == hidden) && !strings.HasPrefix(path.Base(h.Name), whiteoutPrefix) {
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			i, ok := b.node(d)
			if !ok {
				return
			}
			if b.nodes[i].desc >= 0 {
				break // and so are its ancestors: they were set together
			}
			b.nodes[i].desc = b.seq
		}
	}
}

// sparse reports a file whose bytes in the tar are not its contents.
func sparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// freeze lays the children out in name order and drops the name map.
func (b *IndexBuilder) freeze() *Index {
	nodes := b.nodes
	counts := make([]int32, len(nodes)+1)
	for _, n := range nodes[1:] {
		counts[n.parent+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	kids := make([]int32, len(nodes)-1)
	fill := slices.Clone(counts[:len(nodes)])
	for i := 1; i < len(nodes); i++ {
		p := nodes[i].parent
		kids[fill[p]] = int32(i)
		fill[p]++
	}
	for i := range nodes {
		if nodes[i].seq >= 0 {
			nodes[i].layer = int32(b.layers-1) - nodes[i].layer //nolint:gosec // G115: an image's layer count, far below 2^31
		}
		nodes[i].kids, nodes[i].nkids = counts[i], counts[i+1]-counts[i]
		ks := kids[counts[i]:counts[i+1]]
		slices.SortFunc(ks, func(a, c int32) int { return strings.Compare(nodes[a].name, nodes[c].name) })
	}
	// The map held the full names; the nodes keep only their bases.
	size := b.bytes + int64(8*len(b.layerStart))
	b.byName = nil
	return &Index{nodes: nodes, kids: kids, layerStart: b.layerStart, bytes: size}
}

// Bytes returns the index's approximate memory.
func (ix *Index) Bytes() int64 { return ix.bytes }

// Layers returns the number of layers of the image the index describes.
func (ix *Index) Layers() int { return len(ix.layerStart) - 1 }

// child returns the child of node i named name, or -1.
func (ix *Index) child(i int32, name string) int32 {
	n := &ix.nodes[i]
	ks := ix.kids[n.kids : n.kids+n.nkids]
	j, ok := slices.BinarySearchFunc(ks, name, func(k int32, name string) int { return strings.Compare(ix.nodes[k].name, name) })
	if !ok {
		return -1
	}
	return ks[j]
}

// layerOf returns the top-down layer of the entry numbered seq.
func (ix *Index) layerOf(seq int64) int {
	n := len(ix.layerStart) - 1
	lo, hi := 0, n
	for lo < hi { // the first layer whose end is past seq
		mid := (lo + hi) / 2
		if ix.layerStart[mid+1] > seq {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// opaqueFrom returns the first sequence number an opaque marker of node n
// hides, or -1.
func (ix *Index) opaqueFrom(n *node) int64 {
	if n.opaque < 0 {
		return -1
	}
	return ix.layerStart[n.opaque+1]
}
