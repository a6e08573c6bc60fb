// Package layercache keeps image layers on local disk, uncompressed, so that
// reading files from an image a second time touches no registry and
// decompresses nothing.
//
// A layer is kept under the hash of its uncompressed tar as
// blobs/sha256/<hex> below the cache directory. It is written to a temporary
// file in tmp/ while it is downloaded and decompressed, hashed on the way,
// and renamed into place only when the download ended well (the opener
// read the blob to its end, so the registry client checked the blob's
// digest): a file in blobs/ is always a whole layer. Each file is hashed
// again the first time this process uses it, so a file damaged on disk (or
// one a crash left short) is removed and fetched again, never served.
//
// What leads to a kept layer is only the blob it was filled from: its
// upstream's name and its digest (the blob key). An image config's
// diff_ids are never trusted, so an image cannot claim another image's
// kept layer by naming its DiffID, and a layer kept from one upstream is
// not served for the same digest named by another (whose registry must
// serve the blob itself).
//
// A fill runs in its own goroutine and its readers follow the temporary
// file as it grows: the first read of a layer streams as the download goes
// (it is not held back until the layer is whole), concurrent first reads
// download it once, and a fill whose last reader goes stops and leaves
// nothing. When the disk fails or fills up mid-fill, its readers read on
// from the registry from where they were.
//
// A verified fill links its blob key to the tar's hash, in
// digests/sha256/<key> (a file holding the hash's hex), so that the link
// survives a restart; blobs of the same tar share one file.
//
// The directory is bounded by bytes (of the layers; a link is 64 bytes):
// least recently used files are removed first (recency is kept in the
// files' modification times, so a restart rebuilds the order from the
// directory). A failure of the disk (full, read-only, gone) is
// never a failed request: the cache reports it (Metrics, the logger) and the
// caller reads the layer from the registry as if there were no cache.
//
// Why uncompressed: the file index (internal/extract) records where each
// file's bytes start in its layer's tar, so a kept layer answers a file read
// with one seek; a kept compressed layer would have to be decompressed up to
// the file on every read.
//
// The package knows go-containerregistry's v1 types and the local
// filesystem; nothing about HTTP or registries.
package layercache
