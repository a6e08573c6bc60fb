package transfer

import (
	"archive/tar"
	"errors"
	"io"
	"path"
	"strings"
)

// Bounds on what a tarball may hold, so that a hostile one cannot make Load
// spend unbounded memory on its index. An image with a thousand layers needs
// a few thousand entries, named in a few hundred KB.
const (
	maxTarEntries = 1 << 16
	// maxTarName bounds an entry's name and link target, in bytes: Linux's
	// PATH_MAX, as extract's bound. archive/tar hands over names of up to
	// 1 MiB from a PAX record; an archive's are 80 bytes or so.
	maxTarName = 4096
	// maxTarNameBytes bounds the names and link targets of all entries
	// together: the entry cap at 64 bytes a name, about the length of
	// "blobs/sha256/<hex>".
	maxTarNameBytes = 4 << 20
	maxLinkHops     = 16
)

// tarEntry is one regular file or link in the tar.
type tarEntry struct {
	name   string
	link   string // resolved target path for links, "" for files
	offset int64  // start of the file's data in the tar
	size   int64
}

// tarIndex maps the cleaned names of a tar's files to where their data
// starts, so that a file can be read with one io.SectionReader and no copy.
type tarIndex struct {
	r     io.ReaderAt
	size  int64
	files map[string]tarEntry
}

// indexTar scans the tar of size bytes in r, header by header (the data is
// skipped with Seek, not read), and rejects anything unsafe or ambiguous:
// names that are absolute or contain "..", links that leave the archive,
// duplicate names, sparse files, device nodes, truncation; and more entries
// or longer names than the bounds above, as soon as a header passes them.
func indexTar(r io.ReaderAt, size int64) (*tarIndex, error) {
	sr := io.NewSectionReader(r, 0, size)
	tr := tar.NewReader(sr)
	ix := &tarIndex{r: r, size: size, files: map[string]tarEntry{}}
	var budget headerBudget
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, invalidf("read tar: %v", err)
		}
		if err := budget.take(hdr); err != nil {
			return nil, err
		}
		name, err := cleanName(hdr.Name)
		if err != nil {
			return nil, err
		}
		for k := range hdr.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return nil, invalidf("%q: sparse files are not supported", name)
			}
		}
		e := tarEntry{name: name}
		switch hdr.Typeflag {
		case tar.TypeDir, tar.TypeXGlobalHeader:
			continue
		case tar.TypeReg: // the reader reports the old TypeRegA as TypeReg
			off, err := sr.Seek(0, io.SeekCurrent)
			if err != nil {
				return nil, invalidf("read tar: %v", err)
			}
			if hdr.Size < 0 || hdr.Size > size-off {
				return nil, invalidf("%q: truncated (%d bytes declared, %d left)", name, hdr.Size, size-off)
			}
			e.offset, e.size = off, hdr.Size
		case tar.TypeSymlink:
			if path.IsAbs(hdr.Linkname) {
				return nil, invalidf("%q: absolute link target", name)
			}
			// An archive path for lookups in this index; nothing is
			// written to a filesystem.
			e.link = path.Join(path.Dir(name), hdr.Linkname) //nolint:gosec // G305: see above
		case tar.TypeLink:
			// A hard link names its target by archive path.
			if path.IsAbs(hdr.Linkname) {
				return nil, invalidf("%q: absolute link target", name)
			}
			e.link = path.Clean(hdr.Linkname)
			// go-containerregistry's tarball package resolves a hard link
			// against the link's directory, as if it were a symbolic link;
			// refuse the links where that reads a different file than tar
			// semantics, so that what Load verifies is what gets pushed.
			if path.Join(path.Dir(name), hdr.Linkname) != e.link { //nolint:gosec // G305: a comparison of archive paths
				return nil, invalidf("%q: hard link outside the archive root is ambiguous", name)
			}
		default:
			return nil, invalidf("%q: unsupported tar entry type %q", name, hdr.Typeflag)
		}
		if e.link != "" && (e.link == ".." || strings.HasPrefix(e.link, "../")) {
			return nil, invalidf("%q: link leaves the archive", name)
		}
		if _, dup := ix.files[name]; dup {
			return nil, invalidf("%q appears twice", name)
		}
		// Copies: archive/tar hands out a name read from a PAX record as
		// a substring of the whole record block (up to 1 MiB), which the
		// name, kept as it is, would keep too.
		e.name, e.link = strings.Clone(name), strings.Clone(e.link)
		ix.files[e.name] = e
	}
	if len(ix.files) == 0 {
		return nil, invalidf("no files (empty or not a tar)")
	}
	return ix, nil
}

// headerBudget charges a tar's headers against the bounds above: the
// entries, the length of each name and link target, and their total.
type headerBudget struct {
	entries int
	names   int // bytes of the names and link targets so far
}

// take charges hdr, or says which bound it passes.
func (b *headerBudget) take(hdr *tar.Header) error {
	if b.entries++; b.entries > maxTarEntries {
		return invalidf("more than %d tar entries", maxTarEntries)
	}
	if l := max(len(hdr.Name), len(hdr.Linkname)); l > maxTarName {
		return invalidf("a tar entry's name or link target is %d bytes, more than %d", l, maxTarName)
	}
	if b.names += len(hdr.Name) + len(hdr.Linkname); b.names > maxTarNameBytes {
		return invalidf("tar entry names add up to more than %d bytes", maxTarNameBytes)
	}
	return nil
}

// checkHeaders reads the tar stream r to its end and charges every header
// to a headerBudget: run beside the spool, it stops an upload at the header
// that passes a bound instead of after the whole body is on disk. Only a
// bound is its business: a stream that is not a tar, or is cut short, is
// read to its end and left to indexTar, which says what is wrong with it.
func checkHeaders(r io.Reader) error {
	tr := tar.NewReader(r)
	var budget headerBudget
	for {
		hdr, err := tr.Next()
		if err != nil {
			_, _ = io.Copy(io.Discard, r) // the spool's copy reports its own errors
			return nil
		}
		if err := budget.take(hdr); err != nil {
			return err
		}
	}
}

// cleanName returns a tar entry's name relative to the archive root, or an
// error for a name that is absolute, has a ".." component, a backslash or a
// NUL byte.
func cleanName(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, "\\\x00") {
		return "", invalidf("unsafe path %q", name)
	}
	if strings.HasPrefix(name, "/") {
		return "", invalidf("unsafe path %q: absolute", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "", invalidf("unsafe path %q: contains ..", name)
		}
	}
	return path.Clean(name), nil
}

// has reports whether the tar has an entry (a file or a link) named name.
func (ix *tarIndex) has(name string) bool {
	_, ok := ix.files[name]
	return ok
}

// lookup finds the file name refers to, following links.
func (ix *tarIndex) lookup(name string) (tarEntry, error) {
	clean, err := cleanName(name)
	if err != nil {
		return tarEntry{}, err
	}
	for hop := 0; hop <= maxLinkHops; hop++ {
		e, ok := ix.files[clean]
		if !ok {
			return tarEntry{}, invalidf("%q not found in tarball", name)
		}
		if e.link == "" {
			return e, nil
		}
		clean = e.link
	}
	return tarEntry{}, invalidf("%q: too many links", name)
}

// open returns a reader of the file name refers to.
func (ix *tarIndex) open(name string) (*io.SectionReader, error) {
	e, err := ix.lookup(name)
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(ix.r, e.offset, e.size), nil
}

// readFile returns the contents of name, refusing files over max bytes.
func (ix *tarIndex) readFile(name string, max int64) ([]byte, error) {
	e, err := ix.lookup(name)
	if err != nil {
		return nil, err
	}
	if e.size > max {
		return nil, invalidf("%q is %d bytes, more than the %d allowed", name, e.size, max)
	}
	b := make([]byte, e.size)
	if _, err := ix.r.ReadAt(b, e.offset); err != nil && (!errors.Is(err, io.EOF) || e.size != 0) {
		return nil, invalidf("read %q: %v", name, err)
	}
	return b, nil
}
