package handlers

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/extract"
	"github.com/regapi/regapi/internal/redact"
)

// errLayerRead marks a failure reading an image's layers that no other
// kind explains (a blob that does not decompress or verify): the upstream
// served bad bytes.
var errLayerRead = errors.New("read image layers")

// filesResponse is the answer for a directory.
type filesResponse struct {
	Entries []extract.DirEntry `json:"entries"`
}

// sniffLen is how much of a file http.DetectContentType looks at.
const sniffLen = 512

// copyBufSize is the buffer a file body is copied through: few writes
// (each refreshes the idle deadline) without holding much per request.
const copyBufSize = 256 << 10

// handleFiles serves GET …/-/files/{reference}/{path…}?platform=: one path
// inside the image's flattened filesystem. A regular file is answered with
// its bytes (Content-Length, a sniffed Content-Type); a directory with its
// merged listing as JSON. Symbolic and hard links are followed inside the
// image root; X-Regapi-Resolved-Path names the path answered. Layers are
// read from the top down and reading stops once the answer is known, so a
// file in the top layer never downloads the layers below.
//
// A path that is absent, whited out, a dangling link, or a special file
// (device, fifo) is 404 FILE_UNKNOWN: only regular files and directories
// have content to serve, and the parent's listing shows the others.
//
// The answer comes from the image's file index (see fileIndexes): the
// first request for an image walks all its layers to build it, later ones
// answer listings, stats, 404s and links from memory and read a file's
// bytes from its own layer only (from disk when the layer cache has it).
// An image without an index is read as described above.
func handleFiles(logger *slog.Logger, defaultPlatform v1.Platform, reads Reads, streams Streams, indexes *fileIndexes) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := repoTargetFrom(ctx)
		res, err := resolveOrDefault(r, t, defaultPlatform)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		digest := res.manifest.GetDescriptor().GetDigest().String()
		setPlatformHeader(w, res.platform)
		// What a path holds is fixed by the manifest: a revalidation is
		// answered before any layer is read.
		if notModified(w, r, pathETag(digest, t.Path), cacheControlFor(t.repoRequest)) {
			return
		}
		layers, err := imageLayers(ctx, t, digest)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}

		layers = cachedLayers(ctx, reads.LayerCache, t.Registry, layers)

		defer streams.Start()()
		lookup := extract.Lookup
		if ix := indexes.get(ctx, t.Registry, digest, layers); ix != nil {
			lookup = ix.Lookup
		}
		e, err := lookup(ctx, layers, t.Path, extract.WithMaxFileSize(reads.MaxFileSize))
		if err != nil {
			writeError(w, r, logger, fmt.Errorf("%w of %s: %w", errLayerRead, digest, err))
			return
		}
		defer func() { _ = e.Close() }() // read-only: the entry's layer stream
		if t.DirOnly && e.Type != "dir" {
			writeError(w, r, logger, fmt.Errorf("%s in %s is a %s, and the path ends in /: %w", e.Path, digest, e.Type, extract.ErrNotFound))
			return
		}
		switch e.Type {
		case "dir":
			w.Header().Set(resolvedPathHeader, e.Path)
			entries := e.Entries
			if entries == nil {
				entries = []extract.DirEntry{}
			}
			setCacheStatus(w, r)
			encode(w, r, http.StatusOK, filesResponse{Entries: entries})
		case "file":
			serveFile(w, r, logger, reads, streams, e)
		default:
			writeError(w, r, logger, fmt.Errorf("%s in %s is a %s: %w", e.Path, digest, e.Type, extract.ErrNotFound))
		}
	})
}

// resolvedPathHeader names the path answered after links were followed.
const resolvedPathHeader = "X-Regapi-Resolved-Path"

// serveFile streams a regular file's bytes. Errors before the first byte
// (the sniffed head) are error responses; after it the response is aborted,
// as a clean end would look like a complete file.
func serveFile(w http.ResponseWriter, r *http.Request, logger *slog.Logger, reads Reads, streams Streams, e *extract.Entry) {
	ctx := r.Context()
	head := make([]byte, min(e.Size, sniffLen))
	if _, err := io.ReadFull(e.Body, head); err != nil {
		writeError(w, r, logger, fmt.Errorf("%w: read %s: %w", errLayerRead, e.Path, err))
		return
	}
	h := w.Header()
	h.Set(resolvedPathHeader, e.Path)
	h.Set("Content-Length", strconv.FormatInt(e.Size, 10))
	// The bytes are the image's, not regapi's: a browser must not run an
	// HTML or SVG file it was sent as part of regapi's origin.
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	sw := newStreamWriter(w, r, reads, streams, http.DetectContentType(head))
	defer sw.finish()
	sw.start()
	if len(head) == 0 || r.Method == http.MethodHead {
		return
	}
	_, err := sw.Write(head)
	if err == nil {
		// readerOnly: the copy goes through buf, in large writes, rather
		// than a WriterTo's small ones.
		_, err = io.CopyBuffer(sw, readerOnly{e.Body}, make([]byte, copyBufSize))
	}
	if err != nil {
		if ctx.Err() == nil {
			logger.ErrorContext(ctx, "file read aborted mid-stream", "path", r.URL.Path, "err", redact.Text(err.Error()))
		}
		panic(http.ErrAbortHandler)
	}
}

// readerOnly hides every method but Read.
type readerOnly struct{ io.Reader }
