package extract

import (
	"archive/tar"
	"io"
	"io/fs"
	"path"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Entry is what Lookup found at a path. A regular file comes with its
// contents in Body, which the caller must close; a directory with its merged
// listing in Entries.
type Entry struct {
	// Path is the absolute path inside the image after following links,
	// such as "/etc/os-release".
	Path string
	// Type is one of "file", "dir", "symlink", "hardlink", "char", "block",
	// "fifo" or "other".
	Type string
	// Size is the file's size in bytes; zero for other types.
	Size int64
	// Mode holds the permission bits, with setuid, setgid and sticky.
	Mode fs.FileMode
	// ModTime is the entry's modification time.
	ModTime time.Time
	// LinkTarget is a link's target as stored in the layer.
	LinkTarget string
	// Layer is the digest of the layer the entry comes from; zero for a
	// directory that has no entry of its own (only entries below it).
	Layer v1.Hash
	// Entries lists a directory's children, sorted by name.
	Entries []DirEntry
	// Body reads a regular file's contents; nil for other types.
	Body io.ReadCloser
}

// Close releases the layer that Body reads from, if any.
func (e *Entry) Close() error {
	if e.Body == nil {
		return nil
	}
	return e.Body.Close()
}

// DirEntry is one child in a directory listing.
type DirEntry struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Size       int64  `json:"size"`
	Mode       uint32 `json:"mode"`
	LinkTarget string `json:"linkTarget,omitempty"`
}

func typeName(flag byte) string {
	switch flag {
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // SA1019: old archives still write '\x00' for a file
		return "file"
	case tar.TypeDir:
		return "dir"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeChar:
		return "char"
	case tar.TypeBlock:
		return "block"
	case tar.TypeFifo:
		return "fifo"
	}
	return "other"
}

func dirEntry(h *tar.Header) DirEntry {
	d := DirEntry{
		Name:       path.Base(h.Name),
		Type:       typeName(h.Typeflag),
		Mode:       uint32(h.Mode & 0o7777),
		LinkTarget: h.Linkname,
	}
	if d.Type == "file" {
		d.Size = h.Size
	}
	return d
}

// fileMode turns tar's mode into permission bits.
func fileMode(h *tar.Header) fs.FileMode {
	m := fs.FileMode(h.Mode & 0o777)
	if h.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if h.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if h.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// absPath turns a root-relative name into the absolute form callers use.
func absPath(name string) string {
	if name == "." {
		return "/"
	}
	return "/" + name
}

// resolveLink returns the root-relative name that a symbolic link at name
// with the given target designates. The image root is the root: ".." never
// climbs above it, and an absolute target starts from it.
func resolveLink(name, target string) string {
	p := target
	if !path.IsAbs(target) {
		p = path.Dir(name) + "/" + target
	}
	c := path.Clean("/" + p)
	if c == "/" {
		return "."
	}
	return c[1:]
}
