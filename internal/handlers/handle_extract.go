package handlers

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// extractBufSize is the copy buffer: large enough that a layer streams in
// few writes, small enough to hold per request.
const extractBufSize = 64 << 10

// handleExtract serves GET …/-/extract/{reference}?platform=: the image's
// flattened filesystem as a tar stream, never buffered whole. Errors before
// the first byte are ordinary error responses; after it, the response is
// aborted so that the client sees a broken transfer, never a short tar.
func handleExtract(logger *slog.Logger, defaultPlatform v1.Platform) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := repoTargetFrom(ctx)
		platform, err := platformOrDefault(r, defaultPlatform)
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
		// The tar is a function of the image manifest, so its digest tags it.
		if notModified(w, r, digestETag(digest), cacheControlFor(t.repoRequest)) {
			return
		}
		img, err := t.client().GetImage(ctx, "@"+digest)
		if err != nil {
			writeError(w, r, logger, fmt.Errorf("get image %s: %w", digest, err))
			return
		}
		rc := img.Extract()
		defer rc.Close()

		buf := make([]byte, extractBufSize)
		n, err := io.ReadAtLeast(rc, buf, 1)
		if err != nil && !errors.Is(err, io.EOF) {
			writeError(w, r, logger, fmt.Errorf("extract %s: %w", digest, err))
			return
		}
		w.Header().Set("Content-Type", "application/x-tar")
		setCacheStatus(w, r)
		w.WriteHeader(http.StatusOK)
		if n == 0 {
			return
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return // the client went away
		}
		for {
			n, rerr := rc.Read(buf)
			if n > 0 {
				if _, err := w.Write(buf[:n]); err != nil {
					return
				}
			}
			if errors.Is(rerr, io.EOF) {
				return
			}
			if rerr != nil {
				if ctx.Err() == nil {
					logger.ErrorContext(ctx, "extract aborted mid-stream", "path", r.URL.Path,
						"digest", digest, "err", redact(rerr.Error()))
				}
				// Abort the connection: a clean end would look like a
				// complete (short) tar.
				panic(http.ErrAbortHandler)
			}
		}
	})
}
