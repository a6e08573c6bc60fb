// Package extract reads the files inside a container image without a
// container runtime: Flatten streams the image's merged filesystem as one tar,
// and Lookup answers for a single path (a file's bytes or a directory's
// listing), reading layers from the top down and stopping once the answer is
// known.
//
// Flatten writes the same tree, entry for entry and byte for byte, as
// go-containerregistry's mutate.Extract (the tree `crane export` prints): the
// layers are walked from the top down, an entry already written by an upper
// layer hides the same name below, whiteouts (.wh.<name>) and opaque
// directories (.wh..wh..opq) hide lower entries, headers are rewritten only by
// cleaning the name and forcing the PAX format, and symbolic and hard links
// are kept as they are. As crane export does, an image of a single layer
// whose media type is not a layer's (an artifact such as a Helm chart) is
// written as that layer's uncompressed blob.
//
// Two deliberate differences. An entry whose cleaned name escapes the image
// root ("..", "../x", an absolute name, a leading backslash or a Windows drive
// letter) is dropped, and the export goes on. mutate.Extract aborts the whole
// export on a "../" name and writes an absolute name through unchanged. Links
// whose relative target escapes the root are skipped by both, as
// mutate.Extract does. And an entry whose name or link target is longer than
// 4096 bytes fails the export (see Limits), where mutate.Extract writes it.
// On an error Flatten stops without writing the tar trailer, so a reader sees
// a truncated archive rather than a complete one.
//
// Flatten is faster than mutate.Extract because it decompresses with
// github.com/klauspost/compress and fetches and decompresses the next layers
// concurrently, into bounded buffers, while the current one is written (see
// WithPrefetchBytes and WithPrefetchLayers). Memory stays flat: besides those
// buffers it keeps only the names already decided, copied out of the headers
// and bounded by WithMaxNameBytes. No temporary files are written.
//
// # File index
//
// Given WithIndex, a whole-tree Flatten also builds the image's Index: every
// name the merge decided about, its header fields, the layer that holds it
// and the offset of its bytes in that layer's uncompressed tar, and when in
// the top-down walk each name was written, whited out or made opaque. Index
// Lookup answers exactly as Lookup does from it: listings, stats, absent
// paths and links need no layer; a file's bytes are read from its own layer
// alone, with one seek when the layer is a PlainOpener (a tar kept on local
// disk). The index is bounded by NewIndexBuilder's byte bound (names plus
// about 200 bytes per name); past it the index is abandoned, never the
// Flatten.
//
// # Limits
//
// Layers are hostile input; every call is bounded in what it reads and keeps:
//   - bytes: at most WithMaxBytes (32 GiB) decompressed from all the layers
//     of one call together, ErrLimit beyond; there is no separate cap per
//     layer.
//   - ratio: a layer that decompresses to more than WithMaxRatio (1100) times
//     its compressed size, once past 16 MiB, gives ErrLimit. Deflate cannot
//     expand more than about 1032:1, so this stops zstd layers only; a gzip
//     layer is bounded by the bytes cap alone.
//   - names: an entry's name or link target may have at most 4096 bytes
//     (Linux's PATH_MAX; archive/tar would hand over up to 1 MiB), and the
//     names kept to merge the layers at most WithMaxNameBytes (32 MiB);
//     beyond either, ErrNameLimit, raised as soon as the header is read.
//   - files: Lookup returns a regular file of at most WithMaxFileSize
//     (256 MiB), ErrTooLarge beyond; a path follows at most 40 links.
//
// The package knows go-containerregistry's v1 types and nothing about HTTP.
package extract
