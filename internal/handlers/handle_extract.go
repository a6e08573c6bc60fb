package handlers

import (
	"fmt"
	"log/slog"
	"net/http"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/extract"
	"github.com/regapi/regapi/internal/redact"
)

// handleExtract serves GET …/-/extract/{reference}?platform=&path=: the
// image's flattened filesystem as a tar stream (the tree crane export
// writes), or with path= the subtree at that path. The stream is never
// buffered whole: extract.Flatten writes it as the layers arrive, flushing
// before it waits. Errors before the first byte are ordinary error
// responses; after it, the response is aborted so that the client sees a
// broken transfer, never a short tar.
//
// The layers are read through the layer cache when there is one (a cached
// image streams from disk), and an extract of the whole tree builds the
// image's file index on the way when it has none yet.
func handleExtract(logger *slog.Logger, defaultPlatform v1.Platform, reads Reads, streams Streams, indexes *fileIndexes) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := repoTargetFrom(ctx)
		platform, explicit, err := platformOrDefault(r, defaultPlatform)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		sub, err := parseImagePath(r.URL.Query().Get("path"))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		res, err := resolveManifest(ctx, t, platform, explicit)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		digest := res.manifest.GetDescriptor().GetDigest().String()
		setPlatformHeader(w, res.platform)
		// The tar is a function of the image manifest (and the subtree).
		etag := digestETag(digest)
		if sub != "/" {
			etag = pathETag(digest, sub)
		}
		if notModified(w, r, etag, cacheControlFor(t.repoRequest)) {
			return
		}
		if r.Method == http.MethodHead {
			// The headers are known from the manifest: no layer is read.
			newStreamWriter(w, r, reads, streams, "application/x-tar").start()
			return
		}
		layers, err := imageLayers(ctx, t, digest)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}

		layers = cachedLayers(ctx, reads.LayerCache, t.Registry, layers)

		defer streams.Start()()
		sw := newStreamWriter(w, r, reads, streams, "application/x-tar")
		defer sw.finish()
		out := &holdZeros{w: sw}
		opts := []extract.Option{extract.WithSubtree(sub)}
		var ib *extract.IndexBuilder
		if sub == "/" {
			if ib = indexes.builder(t.Registry, digest); ib != nil {
				opts = append(opts, extract.WithIndex(ib))
			}
		}
		err = extract.Flatten(ctx, out, layers, opts...)
		if ib != nil && err == nil {
			indexes.built(ctx, t.Registry, digest, ib)
		}
		switch {
		case err == nil && !out.passed && sub != "/":
			// Only the tar's end blocks: the image has nothing at sub.
			// Answered as the files route answers it, before any byte.
			writeError(w, r, logger, fmt.Errorf("extract %s of %s: %w", sub, digest, extract.ErrNotFound))
		case err == nil:
			// An image with no file at all is still a 200 and an empty tar.
			err = out.release()
			if err != nil && sw.started {
				panic(http.ErrAbortHandler)
			}
		case !sw.started:
			writeError(w, r, logger, fmt.Errorf("extract %s: %w", digest, err))
		default:
			if ctx.Err() == nil {
				logger.ErrorContext(ctx, "extract aborted mid-stream", "path", r.URL.Path,
					"digest", digest, "err", redact.Text(err.Error()))
			}
			// A clean end would look like a complete (short) tar.
			panic(http.ErrAbortHandler)
		}
	})
}

// holdZeros holds back what Flatten writes while it is only zero bytes (a
// tar's end-of-archive blocks, which is all an empty subtree produces), so
// that "nothing at this path" can still be answered 404 before any byte
// goes out. The first non-zero byte releases what was held. A tar entry
// always starts with a non-zero header block, so nothing else is delayed.
type holdZeros struct {
	w      *streamWriter
	held   int
	passed bool
}

func (h *holdZeros) Write(p []byte) (int, error) {
	if !h.passed {
		if allZero(p) {
			h.held += len(p)
			return len(p), nil
		}
		if err := h.release(); err != nil {
			return 0, err
		}
	}
	return h.w.Write(p)
}

// release writes what was held and passes everything from now on.
func (h *holdZeros) release() error {
	h.passed = true
	if h.held == 0 {
		h.w.start()
		return nil
	}
	_, err := h.w.Write(make([]byte, h.held))
	h.held = 0
	return err
}

// Flush flushes the stream once bytes have passed.
func (h *holdZeros) Flush() error {
	if !h.passed {
		return nil
	}
	return h.w.Flush()
}

func allZero(p []byte) bool {
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}
