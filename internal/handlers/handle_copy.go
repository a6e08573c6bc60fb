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
		src, dst, err := parseTransferRefs(req.Source, req.Destination, true)
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
		srcClient, dstClient, err := transferClients(r, ups, src, dst)
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

// parseTransferRefs parses the source and destination of a copy or sync,
// in that order, so the first bad one is the one reported. wantRef is as
// for parseImageRef.
func parseTransferRefs(source, destination string, wantRef bool) (src, dst imageRef, err error) {
	if src, err = parseImageRef("source", source, wantRef); err != nil {
		return imageRef{}, imageRef{}, err
	}
	if dst, err = parseImageRef("destination", destination, wantRef); err != nil {
		return imageRef{}, imageRef{}, err
	}
	return src, dst, nil
}

// transferClients checks that the caller may pull src and push dst, then
// resolves the upstream client of each: the single access check of the
// copy and sync routes, made before anything is looked up or sent
// upstream.
func transferClients(r *http.Request, ups *upstreams, src, dst imageRef) (srcClient, dstClient registry.Client, err error) {
	if err := auth.Authorize(r.Context(), auth.ActionPull, src.Registry, src.Repository); err != nil {
		return nil, nil, err
	}
	if err := auth.Authorize(r.Context(), auth.ActionPush, dst.Registry, dst.Repository); err != nil {
		return nil, nil, err
	}
	if srcClient, err = ups.clientOf(src); err != nil {
		return nil, nil, err
	}
	if dstClient, err = ups.clientOf(dst); err != nil {
		return nil, nil, err
	}
	return srcClient, dstClient, nil
}
