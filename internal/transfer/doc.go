// Package transfer moves images into and between registries: it spools an
// uploaded tarball to disk, validates it, and pushes it with a
// registry.Client (Spool, Load, Push, Upload), and it mirrors the tags of one
// repository into another (Sync).
//
// An upload is a `docker save` archive (manifest.json) or an OCI image layout
// (oci-layout, index.json, blobs/), plain or gzip-compressed. Spool writes the
// uncompressed tar to one temporary file under a size cap; Load builds an
// offset index of that file and serves every blob straight from it, so
// nothing is extracted or copied a second time. Before Load returns, every
// path in the archive has been checked to stay inside it and every blob the
// image references has been found and hashed; a tarball that fails any check
// is rejected with ErrInvalidTarball, so nothing of it reaches a registry.
// The index is bounded as it is read: 65,536 entries, a name or link target
// of at most 4096 bytes and 4 MiB of them in all.
//
// The package knows go-containerregistry's v1 types and the registry client,
// and nothing about HTTP serving.
package transfer
