package extract

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Lookup finds the entry at p (an absolute path such as "/etc/os-release")
// in the flattened filesystem of layers (in manifest order, the base layer
// first), as Flatten would write it.
//
// Layers are read from the top down, one at a time, and reading stops as
// soon as the answer is known: a file in the top layer is answered without
// opening the layers below. Symbolic links, in p's directories and at p
// itself, and hard links are followed inside the image root (".." never
// climbs above it), at most 40 hops, then ErrTooManyLinks. An absent or
// whited-out path, or one below a non-directory, gives ErrNotFound. A
// regular file larger than WithMaxFileSize gives ErrTooLarge. A directory is
// listed with its children merged across layers, whiteouts applied. Each hop
// starts again from the top layer but replays the headers earlier hops read
// (up to a bound on their memory) instead of reading them again; a file whose
// bytes an earlier hop passed costs one more read of its layer up to it.
//
// For a regular file the returned Entry's Body streams the contents from the
// open layer; the caller must Close the Entry. Cancelling ctx closes it too.
func Lookup(ctx context.Context, layers []v1.Layer, p string, opts ...Option) (*Entry, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	target, err := cleanImagePath(p)
	if err != nil {
		return nil, fmt.Errorf("lookup %q: %w", p, ErrNotFound)
	}
	s := &session{ctx: ctx, o: o, b: &budget{maxBytes: o.maxBytes, maxRatio: o.maxRatio}}
	for _, l := range layers {
		s.layers = append(s.layers, &layerState{l: l})
	}
	defer s.close()
	for range maxHops + 1 {
		e, next, err := s.pass(target)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err() // the read failed because ctx closed the blob
			}
			return nil, fmt.Errorf("lookup %q: %w", p, err)
		}
		if e != nil {
			return e, nil
		}
		target = next
	}
	return nil, fmt.Errorf("lookup %q: %w", p, ErrTooManyLinks)
}

// lookup is the state of one top-down pass for one target path.
type lookup struct {
	target   string
	m        *merger
	dir      *tar.Header // the target's own directory entry, once seen
	dirLayer v1.Hash
	children map[string]*DirEntry
	implied  map[string]bool // children known only from entries below them
}

// pass walks the layers for target. It returns the entry, or the path to
// restart from when a link must be followed.
func (s *session) pass(target string) (*Entry, string, error) {
	lk := &lookup{
		target:   target,
		children: map[string]*DirEntry{},
		implied:  map[string]bool{},
	}
	lk.m = newMerger(func(name string) bool {
		return name == target || ancestorOf(name, target) || (name != target && path.Dir(name) == target)
	}, s.o.maxNameBytes)
	for i := len(s.layers) - 1; i >= 0; i-- {
		if err := s.ctx.Err(); err != nil {
			return nil, "", err
		}
		e, next, done, err := lk.layer(s, s.layers[i])
		if err != nil || e != nil || next != "" {
			return e, next, err
		}
		if done {
			break
		}
	}
	return lk.directory()
}

// layer reads one layer, replaying what earlier passes read of it and
// reading on from there. It returns an entry or a restart path when the
// answer is known within it, and done when lower layers cannot change the
// answer.
func (lk *lookup) layer(s *session, ls *layerState) (_ *Entry, next string, done bool, _ error) {
	if ls.forget {
		ls.closeStream() // a forgotten layer is read afresh by every pass
	}
	defer func() {
		if ls.forget {
			ls.closeStream()
		}
	}()
	digest := ls.digestOnce()
	t := lk.target
	for pos := 0; ; {
		h, live, err := s.next(ls, &pos)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", false, err
		}
		name, v, err := lk.m.visit(h)
		if err != nil {
			return nil, "", false, err
		}
		switch {
		case v == irrelevant:
			if err := lk.observe(name, h); err != nil {
				return nil, "", false, err
			}
		case v != emitted:
		case name == t:
			switch h.Typeflag {
			case tar.TypeDir:
				lk.dir, lk.dirLayer = h, digest
			case tar.TypeSymlink:
				return nil, resolveLink(name, h.Linkname), false, nil
			case tar.TypeLink:
				c, err := cleanImagePath(h.Linkname)
				if err != nil {
					return nil, "", false, ErrNotFound
				}
				return nil, c, false, nil
			default:
				e := entryOf(h, digest)
				if e.Type != "file" {
					return e, "", false, nil
				}
				if h.Size > s.o.maxFileSize {
					return nil, "", false, fmt.Errorf("%s is %d bytes, over %d: %w", e.Path, h.Size, s.o.maxFileSize, ErrTooLarge)
				}
				body, err := s.body(ls, pos-1, live, h.Size)
				if err != nil {
					return nil, "", false, err
				}
				e.Body = body
				return e, "", false, nil
			}
		case ancestorOf(name, t):
			switch h.Typeflag {
			case tar.TypeDir:
			case tar.TypeSymlink:
				rest := strings.TrimPrefix(t[len(name):], "/")
				if name == "." {
					rest = t
				}
				return nil, path.Join(resolveLink(name, h.Linkname), rest), false, nil
			default:
				return nil, "", false, ErrNotFound // below a non-directory
			}
		default: // a child of the target
			d := dirEntry(h)
			if err := lk.m.charge(len(d.Name) + len(d.LinkTarget)); err != nil {
				return nil, "", false, err
			}
			// Copies: as read, the names may share their whole PAX block.
			d.Name, d.LinkTarget = strings.Clone(d.Name), strings.Clone(d.LinkTarget)
			lk.children[d.Name] = &d
			delete(lk.implied, d.Name)
		}
	}
	lk.m.endLayer()
	return nil, "", lk.complete(), nil
}

// observe notes an entry deeper below the target: its first component below
// the target is a directory even if it has no entry of its own.
func (lk *lookup) observe(name string, h *tar.Header) error {
	if !ancestorOf(lk.target, name) || strings.HasPrefix(path.Base(h.Name), whiteoutPrefix) || lk.m.hiddenBelow(name) {
		return nil
	}
	rest := name
	if lk.target != "." {
		rest = name[len(lk.target)+1:]
	}
	child, _, _ := strings.Cut(rest, "/")
	if _, ok := lk.children[child]; !ok {
		child, err := lk.m.keep(child)
		if err != nil {
			return err
		}
		lk.children[child] = &DirEntry{Name: child, Type: "dir", Mode: 0o755}
		lk.implied[child] = true
	}
	return nil
}

// complete reports whether the layers below cannot change the answer: the
// target is whited out or below something hidden, or it is an opaque
// directory whose own entry is known.
func (lk *lookup) complete() bool {
	t := lk.target
	if lk.m.seen[t] || lk.m.hiddenBelow(t) {
		return true
	}
	return lk.m.opaque[t] && (lk.dir != nil || t == ".")
}

// directory is the answer once no layer has a file or link at the target.
func (lk *lookup) directory() (*Entry, string, error) {
	if lk.dir == nil && len(lk.children) == 0 && lk.target != "." {
		return nil, "", ErrNotFound
	}
	e := &Entry{Path: absPath(lk.target), Type: "dir", Mode: 0o755, Entries: []DirEntry{}}
	if lk.dir != nil {
		e = entryOf(lk.dir, lk.dirLayer)
		e.Path = absPath(lk.target)
	}
	e.Entries = make([]DirEntry, 0, len(lk.children))
	for _, d := range lk.children {
		e.Entries = append(e.Entries, *d)
	}
	sort.Slice(e.Entries, func(i, j int) bool { return e.Entries[i].Name < e.Entries[j].Name })
	return e, "", nil
}

// entryOf describes h. Its strings are copies, so that the entry, which
// outlives the pass, does not keep the header's PAX block (see merger.keep).
func entryOf(h *tar.Header, layer v1.Hash) *Entry {
	e := &Entry{
		Path:       absPath(h.Name),
		Type:       typeName(h.Typeflag),
		Mode:       fileMode(h),
		ModTime:    h.ModTime,
		LinkTarget: strings.Clone(h.Linkname),
		Layer:      layer,
	}
	if e.Type == "file" {
		e.Size = h.Size
	}
	return e
}
