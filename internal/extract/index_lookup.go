package extract

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Lookup answers what the package's Lookup answers for p in the image of
// layers (the image the index was built from, manifest order), with the
// same entries, listings and errors, from memory: a listing, a stat, an
// absent path or a chain of links reads no layer. A regular file's Body
// reads only the layer holding it: from its OpenPlain file (a layer kept
// on disk, see PlainOpener) with one seek, else by streaming the layer up
// to the file. WithMaxFileSize applies as for Lookup; the caller must
// Close the Entry.
//
// Lookup reads the layers from the top down and decides by what it meets
// first; the index keeps, for every name, when in that order it was
// written, whited out or made opaque, and replays the same decisions.
func (ix *Index) Lookup(ctx context.Context, layers []v1.Layer, p string, opts ...Option) (*Entry, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	if len(layers) != ix.Layers() {
		return nil, fmt.Errorf("lookup %q: the index describes %d layers, not %d", p, ix.Layers(), len(layers))
	}
	target, err := cleanImagePath(p)
	if err != nil {
		return nil, fmt.Errorf("lookup %q: %w", p, ErrNotFound)
	}
	for range maxHops + 1 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e, next, err := ix.pass(ctx, layers, target, o)
		if err != nil {
			return nil, fmt.Errorf("lookup %q: %w", p, err)
		}
		if e != nil {
			return e, nil
		}
		target = next
	}
	return nil, fmt.Errorf("lookup %q: %w", p, ErrTooManyLinks)
}

// pass is Lookup's top-down pass for target, from the index. The pass ends
// at the end of the first layer after which lower layers cannot change the
// answer (lookup.complete), or at the first link or non-directory met at
// the target or one of its ancestors.
func (ix *Index) pass(ctx context.Context, layers []v1.Layer, target string, o *options) (*Entry, string, error) {
	// chain holds the nodes of ".", then each ancestor, then the target;
	// it stops short when a name has no node (nothing ever mentioned it).
	chain := []int32{0}
	names := []string{"."}
	if target != "." {
		for i, c := range strings.Split(target, "/") {
			k := ix.child(chain[len(chain)-1], c)
			if k < 0 {
				break
			}
			chain = append(chain, k)
			if i == 0 {
				names = append(names, c)
			} else {
				names = append(names, names[len(names)-1]+"/"+c)
			}
		}
	}
	found := names[len(names)-1] == target
	ancestors := len(chain)
	if found {
		ancestors--
	}

	// last is the last layer the pass reads; hide is the first entry
	// that the target's and its ancestors' whiteouts and opaque markers
	// hide below the target.
	last := ix.Layers() - 1
	hide := int64(-1)
	earliest := func(s int64) {
		if s >= 0 && (hide < 0 || s < hide) {
			hide = s
		}
	}
	for _, i := range chain {
		n := &ix.nodes[i]
		earliest(n.tomb)
		earliest(ix.opaqueFrom(n))
	}
	for _, i := range chain[:ancestors] {
		n := &ix.nodes[i]
		if n.tomb >= 0 {
			last = min(last, ix.layerOf(n.tomb))
		}
		if n.opaque >= 0 {
			last = min(last, int(n.opaque))
		}
	}
	var t *node
	if found {
		t = &ix.nodes[chain[len(chain)-1]]
		if t.tomb >= 0 {
			last = min(last, ix.layerOf(t.tomb))
		}
		switch {
		case t.opaque < 0:
		case target == ".":
			last = min(last, int(t.opaque))
		case t.seq >= 0 && t.typ == tar.TypeDir:
			last = min(last, max(int(t.opaque), ix.layerOf(t.seq)))
		}
	}

	// The first link or non-directory written at the target or above it
	// decides, if the pass reads that far.
	decider := -1
	for j, i := range chain {
		n := &ix.nodes[i]
		if n.seq >= 0 && n.typ != tar.TypeDir && (decider < 0 || n.seq < ix.nodes[chain[decider]].seq) {
			decider = j
		}
	}
	if decider >= 0 && ix.layerOf(ix.nodes[chain[decider]].seq) <= last {
		n, name := &ix.nodes[chain[decider]], names[decider]
		if name == target {
			return ix.atTarget(ctx, layers, n, name, o)
		}
		if n.typ != tar.TypeSymlink {
			return nil, "", ErrNotFound // below a non-directory
		}
		rest := strings.TrimPrefix(target[len(name):], "/")
		if name == "." {
			rest = target
		}
		return nil, path.Join(resolveLink(name, n.link), rest), nil
	}
	if !found {
		if target == "." {
			panic("unreachable: the root always has a node")
		}
		return nil, "", ErrNotFound
	}

	e := &Entry{Path: absPath(target), Type: "dir", Mode: 0o755}
	if t.seq >= 0 { // a directory
		e = ix.entry(layers, t)
		e.Path = absPath(target)
	}
	e.Entries = make([]DirEntry, 0, t.nkids)
	for _, k := range ix.kids[t.kids : t.kids+t.nkids] {
		c := &ix.nodes[k]
		if c.seq >= 0 {
			e.Entries = append(e.Entries, c.dirEntry())
			continue
		}
		h := hide
		for _, s := range []int64{c.tomb, ix.opaqueFrom(c)} {
			if s >= 0 && (h < 0 || s < h) {
				h = s
			}
		}
		if c.desc >= 0 && (h < 0 || c.desc < h) {
			e.Entries = append(e.Entries, DirEntry{Name: c.name, Type: "dir", Mode: 0o755})
		}
	}
	if t.seq < 0 && len(e.Entries) == 0 && target != "." {
		return nil, "", ErrNotFound
	}
	return e, "", nil
}

// atTarget answers for the link or non-directory n written at the target.
func (ix *Index) atTarget(ctx context.Context, layers []v1.Layer, n *node, name string, o *options) (*Entry, string, error) {
	switch n.typ {
	case tar.TypeSymlink:
		return nil, resolveLink(name, n.link), nil
	case tar.TypeLink:
		c, err := cleanImagePath(n.link)
		if err != nil {
			return nil, "", ErrNotFound
		}
		return nil, c, nil
	}
	e := ix.entry(layers, n)
	e.Path = absPath(name)
	if e.Type != "file" {
		return e, "", nil
	}
	if n.size > o.maxFileSize {
		return nil, "", fmt.Errorf("%s is %d bytes, over %d: %w", e.Path, n.size, o.maxFileSize, ErrTooLarge)
	}
	body, err := openBody(ctx, layers[n.layer], n, o)
	if err != nil {
		return nil, "", err
	}
	e.Body = body
	return e, "", nil
}

// entry is entryOf for an indexed entry.
func (ix *Index) entry(layers []v1.Layer, n *node) *Entry {
	d, _ := layers[n.layer].Digest()
	h := &tar.Header{Typeflag: n.typ, Mode: n.mode, Size: n.size, ModTime: n.mtime, Linkname: n.link}
	return entryOf(h, d)
}

func (n *node) dirEntry() DirEntry {
	return dirEntry(&tar.Header{Name: n.name, Typeflag: n.typ, Mode: n.mode, Size: n.size, Linkname: n.link})
}

// PlainOpener is a layer kept as an uncompressed tar on local disk (such
// as the layers of regapi's layer cache). Every read of a layer that has
// it (Flatten, Lookup, Index.Lookup) reads its PlainFile, and decompresses
// nothing; OpenPlain returns false when the file cannot be had, and the
// layer is then read as usual.
type PlainOpener interface {
	OpenPlain() (PlainFile, bool)
}

// PlainFile is a layer's uncompressed tar on local disk: an *os.File, or a
// file still being written whose reads wait for their bytes. It must be
// safe to Close while a Read is in progress (to cancel it).
type PlainFile = interface {
	io.ReadCloser
	io.ReaderAt
}

// openBody returns the size bytes of the file n: a section of the layer's
// plain file, or the layer streamed up to them.
func openBody(ctx context.Context, l v1.Layer, n *node, o *options) (io.ReadCloser, error) {
	if p, ok := l.(PlainOpener); ok && n.offset >= 0 {
		if f, ok := p.OpenPlain(); ok {
			return &fileBody{Reader: io.NewSectionReader(f, n.offset, n.size), c: f}, nil
		}
	}
	rc, err := openLayer(ctx, l, &budget{maxBytes: o.maxBytes, maxRatio: o.maxRatio})
	if err != nil {
		return nil, err
	}
	if n.offset >= 0 {
		if _, err := io.CopyN(io.Discard, rc, n.offset); err != nil {
			_ = rc.Close() // read-only: the skip's error is the one to report
			return nil, fmt.Errorf("skip to byte %d of layer %d: %w", n.offset, n.layer, unexpected(err))
		}
		return &fileBody{Reader: io.LimitReader(rc, n.size), c: rc}, nil
	}
	// No offset (a sparse file): let archive/tar find it and expand it.
	tr := tar.NewReader(rc)
	var h *tar.Header
	for range n.pos + 1 {
		if h, err = tr.Next(); err != nil {
			_ = rc.Close() // read-only: the tar's error is the one to report
			return nil, fmt.Errorf("read tar: %w", unexpected(err))
		}
	}
	if h.Size != n.size || h.Typeflag != n.typ {
		_ = rc.Close() // read-only
		return nil, fmt.Errorf("layer %d changed between reads: entry %d is %q", n.layer, n.pos, h.Name)
	}
	return &fileBody{Reader: io.LimitReader(tr, n.size), c: rc}, nil
}

// unexpected turns an early end into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
