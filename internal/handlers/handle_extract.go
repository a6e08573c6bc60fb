package handlers

import (
	"fmt"
	"log/slog"
	"net/http"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/extract"
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
		platform, err := platformOrDefault(r, defaultPlatform)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		sub, err := parseImagePath(r.URL.Query().Get("path"))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		res, err := resolveManifest(ctx, t, platform)
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
		layers, err := imageLayers(ctx, t, digest)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}

		layers = cachedLayers(ctx, reads.LayerCache, layers)

		defer streams.Start()()
		sw := newStreamWriter(w, r, reads.IdleTimeout, streams, "application/x-tar")
		defer sw.finish()
		opts := []extract.Option{extract.WithSubtree(sub)}
		var ib *extract.IndexBuilder
		if sub == "/" {
			if ib = indexes.builder(digest); ib != nil {
				opts = append(opts, extract.WithIndex(ib))
			}
		}
		err = extract.Flatten(ctx, sw, layers, opts...)
		if ib != nil && err == nil {
			indexes.built(digest, ib)
		}
		switch {
		case err == nil:
			sw.start() // an empty subtree is still a 200 and an (empty) tar
		case !sw.started:
			writeError(w, r, logger, fmt.Errorf("extract %s: %w", digest, err))
		default:
			if ctx.Err() == nil {
				logger.ErrorContext(ctx, "extract aborted mid-stream", "path", r.URL.Path,
					"digest", digest, "err", redact(err.Error()))
			}
			// A clean end would look like a complete (short) tar.
			panic(http.ErrAbortHandler)
		}
	})
}
