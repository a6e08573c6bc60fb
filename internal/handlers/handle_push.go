package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/transfer"
)

// uploadResponse is the answer of PUT …/-/images/{tag}.
type uploadResponse struct {
	// Digest is the manifest (or index) digest now tagged.
	Digest string `json:"digest"`
	// Format is "docker-archive" or "oci-layout".
	Format string `json:"format"`
	// Bytes is the size of the uncompressed tar.
	Bytes int64 `json:"bytes"`
}

// Outcomes of an upload as Transfers.Upload receives them (telemetry's
// regapi_uploads_total{outcome} has the same values).
const (
	// uploadPushed: the image is tagged at the destination.
	uploadPushed = "pushed"
	// uploadRejected: a digest instead of a tag, over the size cap, or not
	// a valid image tarball.
	uploadRejected = "rejected"
	// uploadAborted: the body did not arrive whole (client gone, stalled),
	// or the client left while the upload waited or was pushed.
	uploadAborted = "aborted"
	// uploadFailed: everything else, a push the upstream refused or failed
	// above all.
	uploadFailed = "failed"
)

// handleUpload serves PUT /api/v1/repos/{registry}/{repository…}/-/images/{tag}:
// the body, a `docker save` archive or an OCI image layout tar (gzip or
// plain), is spooled under a size cap, validated completely and pushed
// under tag. The spool file is gone when the handler returns, whatever
// happened; a tarball that fails validation never reaches the upstream.
// Every upload past access control is counted once in transfers by its
// outcome, and its body's bytes as they are read.
func handleUpload(logger *slog.Logger, cfg Writes, transfers Transfers) http.Handler {
	slots := make(chan struct{}, cfg.UploadConcurrency)
	opts := transfer.UploadOptions{Dir: cfg.SpoolDir, MaxBytes: cfg.MaxUploadBytes}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := repoTargetFrom(ctx)
		// Authorization: push on the destination, before a byte of the
		// body is read, so nothing unauthorized ever reaches the disk.
		// handleRepos checked it already (authorizeRepo); this is the
		// handler's own guarantee, kept next to the body read.
		if err := auth.Authorize(ctx, auth.ActionPush, t.Registry, t.Repository); err != nil {
			writeError(w, r, logger, err)
			return
		}
		if t.Digest {
			transfers.Upload(uploadRejected)
			writeError(w, r, logger, errorf(codeReferenceInvalid, "an upload is tagged: want /-/images/{tag}, not a digest"))
			return
		}
		if r.ContentLength > cfg.MaxUploadBytes {
			transfers.Upload(uploadRejected)
			writeError(w, r, logger, &http.MaxBytesError{Limit: cfg.MaxUploadBytes})
			return
		}
		// The body is read only once a slot is free, so at most
		// UploadConcurrency spool files exist at a time.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			transfers.Upload(uploadAborted)
			return
		}
		defer func() { <-slots }()

		started := time.Now()
		uploadRules(r, cfg.UploadIdleTimeout, cfg.UploadMinRate, cfg.UploadMaxDuration)
		body := uploadBody(w, r, cfg.MaxUploadBytes)
		res, err := transfer.Upload(ctx, t.client(), t.Reference, countedReader{body, transfers}, opts)
		if err != nil && res.Digest.Hex == "" {
			transfers.Upload(uploadOutcome(ctx, err))
			writeError(w, r, logger, uploadError(err))
			return
		}
		transfers.Upload(uploadPushed)
		if err != nil {
			// Pushed, but the spool file could not be removed: the
			// caller's image is in place; the operator must see this.
			logger.ErrorContext(ctx, "upload pushed, spool file left behind", "err", redact(err.Error()))
		}
		logger.InfoContext(ctx, "image uploaded", "registry", t.Registry, "repository", t.Repository, "tag", t.Reference,
			"digest", res.Digest.String(), "format", res.Format, "bytes", res.Bytes, "took", time.Since(started).Round(time.Millisecond))
		w.Header().Set("Location", reposPrefix+t.Registry+"/"+t.Repository+"/-/manifests/"+res.Digest.String())
		w.Header().Set("Cache-Control", cacheControlNone)
		encode(w, r, http.StatusCreated, uploadResponse{Digest: res.Digest.String(), Format: string(res.Format), Bytes: res.Bytes})
	})
}

// uploadError gives transfer's errors the detail callers see; writeError
// maps the sentinels to their codes.
func uploadError(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, errBodyTimeout):
		return errBodyTimeout
	case errors.As(err, &mbe):
		return mbe
	case errors.Is(err, transfer.ErrTooLarge):
		return err
	case errors.Is(err, transfer.ErrInvalidTarball):
		// The text names the entry, path or digest that failed, all of
		// them from the upload itself.
		return errorf(codeTarballInvalid, "%s", truncateDetail(err.Error()))
	case errors.Is(err, transfer.ErrIncompleteBody):
		return errorf(codeTarballInvalid, "the upload body could not be read to its end (client gone or stalled)")
	}
	return fmt.Errorf("upload: %w", err)
}

// uploadOutcome is the outcome of an upload that failed with err, checked
// in the order uploadError maps it: a body over the cap fails its read too,
// but is rejected, not aborted.
func uploadOutcome(ctx context.Context, err error) string {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), errors.Is(err, transfer.ErrTooLarge), errors.Is(err, transfer.ErrInvalidTarball):
		return uploadRejected
	case errors.Is(err, transfer.ErrIncompleteBody), errors.Is(err, errBodyTimeout), ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return uploadAborted
	}
	return uploadFailed
}

// countedReader counts the bytes read through it as upload bytes, so an
// upload cut short counts what arrived.
type countedReader struct {
	r io.Reader
	t Transfers
}

func (c countedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.t.UploadBytes(int64(n))
	return n, err
}

// truncateDetail bounds an error text used as a detail.
func truncateDetail(s string) string {
	const max = 500
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
