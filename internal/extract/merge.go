package extract

import (
	"archive/tar"
	"fmt"
	"path"
	"strings"
)

// These match go-containerregistry's mutate package.
const (
	whiteoutPrefix = ".wh."
	opaqueWhiteout = ".wh..wh..opq"
)

// verdict is what the merger decided about one tar entry.
type verdict int

const (
	// dropped: an unsafe name, an escaping link or an opaque marker.
	dropped verdict = iota
	// hidden: shadowed by an upper entry, a whiteout or an opaque directory,
	// or a whiteout itself.
	hidden
	// irrelevant: outside the names the merger was asked to track; nothing
	// was recorded and the caller decides.
	irrelevant
	// emitted: the entry belongs in the flattened tree.
	emitted
)

// merger holds the state of mutate.Extract's top-down walk: the names
// already decided and the directories made opaque by upper layers. It
// records only names for which relevant returns true, which keeps the state
// small for a subtree or a single lookup without changing any decision about
// a relevant name (a decision depends only on the name and its ancestors, and
// relevant sets are closed under taking ancestors).
//
// The names it keeps are copies, charged to a budget (see keep); Lookup
// charges the names of its listing to the same budget.
type merger struct {
	// seen maps a decided name to true when it hides everything below it
	// (a whiteout or a non-directory), false for a directory.
	seen map[string]bool
	// opaque holds directories made opaque by a layer above the current one.
	opaque map[string]bool
	// layerOpaque holds the current layer's opaque markers; they take effect
	// for the layers below it.
	layerOpaque map[string]bool
	relevant    func(name string) bool
	// kept is the cost of the names kept so far, at most maxKept.
	kept, maxKept int64
	// rec, when set, is told of the whiteouts and opaque markers that take
	// effect, which the verdicts alone do not show (see IndexBuilder).
	rec mergeRecorder
}

// mergeRecorder hears the merger's decisions that hide lower entries.
type mergeRecorder interface {
	// whitedOut: a whiteout now hides name and everything below it.
	whitedOut(name string)
	// opaqued: dir is made opaque for the layers below the current one.
	opaqued(dir string)
}

func newMerger(relevant func(string) bool, maxKept int64) *merger {
	return &merger{
		seen:        map[string]bool{},
		opaque:      map[string]bool{},
		layerOpaque: map[string]bool{},
		relevant:    relevant,
		maxKept:     maxKept,
	}
}

// charge counts n bytes of names, and one entry holding them, against the
// budget.
func (m *merger) charge(n int) error {
	m.kept += int64(n) + keptEntryCost
	if m.kept > m.maxKept {
		return fmt.Errorf("names kept to merge the layers pass %d bytes: %w", m.maxKept, ErrNameLimit)
	}
	return nil
}

// keep charges name and returns a copy of it to keep. archive/tar returns a
// name read from a PAX record as a substring of the whole record block (up
// to 1 MiB), which the name, kept as it is, would keep too.
func (m *merger) keep(name string) (string, error) {
	if err := m.charge(len(name)); err != nil {
		return "", err
	}
	return strings.Clone(name), nil
}

// checkName refuses an entry whose name or link target is longer than
// maxNameLen, before anything keeps it.
func checkName(h *tar.Header) error {
	if n := max(len(h.Name), len(h.Linkname)); n > maxNameLen {
		return fmt.Errorf("an entry's name or link target is %d bytes, over %d: %w", n, maxNameLen, ErrNameLimit)
	}
	return nil
}

// visit decides about h, the next entry of the current layer, in the same
// order and with the same rules as mutate's extractLayer. It cleans h.Name and
// sets the PAX format as mutate does, and returns the entry's merged name (the
// whiteout prefix stripped). It fails with ErrNameLimit on a name that is too
// long or one that would pass the budget.
func (m *merger) visit(h *tar.Header) (string, verdict, error) {
	if err := checkName(h); err != nil {
		return "", dropped, err
	}
	h.Name = path.Clean(h.Name)
	if unsafeName(h.Name) {
		return h.Name, dropped, nil // mutate.Extract fails here; see the package doc
	}
	if (h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink) && unsafeRelativeLink(h.Name, h.Linkname) {
		return h.Name, dropped, nil
	}
	h.Format = tar.FormatPAX

	base, dir := path.Base(h.Name), path.Dir(h.Name)
	if base == opaqueWhiteout {
		// A directory an upper layer made opaque hides everything below
		// already; only a new one is kept.
		if m.relevant(dir) && !m.layerOpaque[dir] && !m.opaque[dir] {
			k, err := m.keep(dir)
			if err != nil {
				return dir, dropped, err
			}
			m.layerOpaque[k] = true
			if m.rec != nil {
				m.rec.opaqued(k)
			}
		}
		return dir, dropped, nil
	}
	tombstone := strings.HasPrefix(base, whiteoutPrefix)
	if tombstone {
		base = base[len(whiteoutPrefix):]
	}
	// As mutate does, a directory keeps its name even when it carries the
	// whiteout prefix.
	name := h.Name
	if h.Typeflag != tar.TypeDir {
		name = path.Join(dir, base)
	}
	if !m.relevant(name) {
		return name, irrelevant, nil
	}
	_, known := m.seen[name]
	if known && !tombstone {
		return name, hidden, nil
	}
	if m.hiddenBelow(name) {
		return name, hidden, nil
	}
	if !known {
		k, err := m.keep(name)
		if err != nil {
			return name, dropped, err
		}
		name = k
	}
	m.seen[name] = tombstone || h.Typeflag != tar.TypeDir
	if tombstone {
		if m.rec != nil {
			m.rec.whitedOut(name)
		}
		return name, hidden, nil
	}
	return name, emitted, nil
}

// hiddenBelow reports whether an ancestor of name was whited out or is a
// non-directory, or was made opaque by an upper layer.
func (m *merger) hiddenBelow(name string) bool {
	for name != "" {
		dir := path.Dir(name)
		if dir == name {
			return false
		}
		if m.seen[dir] || m.opaque[dir] {
			return true
		}
		name = dir
	}
	return false
}

// endLayer makes the current layer's opaque markers hide lower layers.
func (m *merger) endLayer() {
	for d := range m.layerOpaque {
		m.opaque[d] = true
		delete(m.layerOpaque, d)
	}
}

// unsafeName reports a cleaned entry name that leaves the image root.
func unsafeName(clean string) bool {
	c := strings.ReplaceAll(clean, "\\", "/")
	if c == ".." || strings.HasPrefix(c, "../") || strings.HasPrefix(c, "/") {
		return true
	}
	c = path.Clean(c)
	if c == ".." || strings.HasPrefix(c, "../") {
		return true
	}
	return hasWindowsDrivePrefix(c)
}

// unsafeRelativeLink matches mutate's rule: a relative link target that
// resolves above the root is unsafe; absolute targets are kept.
func unsafeRelativeLink(name, linkname string) bool {
	clean := path.Clean(strings.ReplaceAll(linkname, "\\", "/"))
	if path.IsAbs(clean) {
		return false
	}
	if hasWindowsDrivePrefix(clean) {
		return true
	}
	resolved := path.Clean(path.Join(path.Dir(name), clean))
	return strings.HasPrefix(resolved, "..")
}

func hasWindowsDrivePrefix(name string) bool {
	return len(name) >= 2 &&
		(('A' <= name[0] && name[0] <= 'Z') || ('a' <= name[0] && name[0] <= 'z')) &&
		name[1] == ':'
}

// under reports whether name is dir or below it; "." contains everything.
func under(name, dir string) bool {
	if dir == "." {
		return true
	}
	return name == dir || (len(name) > len(dir) && name[len(dir)] == '/' && name[:len(dir)] == dir)
}
