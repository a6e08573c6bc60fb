package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/registry"
)

// copyRequest is the body of POST /api/v1/copy.
type copyRequest struct {
	// Source is "<registry>/<repository>:<tag>" or "…@sha256:<hex>".
	Source string `json:"source"`
	// Destination is "<registry>/<repository>:<tag>".
	Destination string `json:"destination"`
	// Platform, when set, copies only that image of a source index.
	Platform string `json:"platform,omitempty"`
}

// copyResponse is the answer of POST /api/v1/copy.
type copyResponse struct {
	// Digest is the digest now tagged at the destination.
	Digest string `json:"digest"`
}

// handleCopy serves POST /api/v1/copy: the manifest at source, with
// everything it references, is copied to destination. An index is copied
// whole, with every platform, unless "platform" picks one. Blobs the
// destination has are not uploaded again.
func handleCopy(logger *slog.Logger, ups *upstreams) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var req copyRequest
		if err := decodeJSON(r, &req); err != nil {
			writeError(w, r, logger, err)
			return
		}
		src, err := parseImageRef("source", req.Source, true)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		dst, err := parseImageRef("destination", req.Destination, true)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		if dst.Digest {
			writeError(w, r, logger, errorf(codeReferenceInvalid, "destination %q: a copy is tagged, want <registry>/<repository>:<tag>", truncate(req.Destination)))
			return
		}
		platform, err := parsePlatform(req.Platform)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		// Authorization: pull on the source, push on the destination,
		// both before anything is looked up or sent upstream.
		if err := authorizeTransfer(r, src, dst); err != nil {
			writeError(w, r, logger, err)
			return
		}
		srcClient, err := ups.clientOf(src)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		dstClient, err := ups.clientOf(dst)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		var opts []registry.ImageGetOption
		if platform != nil {
			opts = append(opts, registry.WithPlatform{Platform: platform})
		}
		started := time.Now()
		// Both clients are the cache-wrapped ones: the copy invalidates
		// what it changes at the destination.
		h, err := srcClient.CopyImage(ctx, src.clientRef(), dstClient, dst.Reference, opts...)
		if err != nil {
			writeError(w, r, logger, fmt.Errorf("copy %s to %s: %w", src, dst, err))
			return
		}
		logger.InfoContext(ctx, "image copied", "source", src.String(), "destination", dst.String(),
			"digest", h.String(), "took", time.Since(started).Round(time.Millisecond))
		w.Header().Set("Cache-Control", cacheControlNone)
		encode(w, r, http.StatusOK, copyResponse{Digest: h.String()})
	})
}

// authorizeTransfer checks that the caller may pull src and push dst: the
// single access check of the copy and sync routes.
func authorizeTransfer(r *http.Request, src, dst imageRef) error {
	if err := auth.Authorize(r.Context(), auth.ActionPull, src.Registry, src.Repository); err != nil {
		return err
	}
	return auth.Authorize(r.Context(), auth.ActionPush, dst.Registry, dst.Repository)
}
