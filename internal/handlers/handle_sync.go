package handlers

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/regapi/regapi/internal/transfer"
)

// syncRequest is the body of POST /api/v1/sync.
type syncRequest struct {
	// Source and Destination are "<registry>/<repository>".
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// Tags is a regular expression (RE2) the whole tag must match; empty
	// selects every tag.
	Tags string `json:"tags,omitempty"`
	// Platform copies only that image of each source index.
	Platform string `json:"platform,omitempty"`
	// Overwrite re-copies tags the destination has with another digest.
	Overwrite bool `json:"overwrite,omitempty"`
}

// syncSummary is the last NDJSON line of a sync.
type syncSummary struct {
	Summary transfer.Summary `json:"summary"`
	// Error says why the sync stopped early (the client went away, a
	// listing failed mid-way); tags not started are not reported.
	Error string `json:"error,omitempty"`
}

// maxTagPatternLen bounds the "tags" expression: RE2 compiles in linear
// time, but a caller should not make regapi compile megabytes.
const maxTagPatternLen = 1 << 10

// handleSync serves POST /api/v1/sync: every source tag the destination
// lacks is copied, SyncConcurrency at a time, with one NDJSON line per tag
// (copied, skipped or failed) as each finishes and a summary line last.
// One failed tag never stops the others. Until the first line the answer
// can still be an error (401, 403, 404 …); after it the status is 200 and
// the summary tells how it went, so each tag line is also counted in
// transfers by its status.
func handleSync(logger *slog.Logger, ups *upstreams, cfg Writes, transfers Transfers) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var req syncRequest
		if err := decodeJSON(r, &req); err != nil {
			writeError(w, r, logger, err)
			return
		}
		src, dst, err := parseTransferRefs(req.Source, req.Destination, false)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		opts := transfer.SyncOptions{Concurrency: cfg.SyncConcurrency, Overwrite: req.Overwrite}
		if opts.TagPattern, err = compileTagPattern(req.Tags); err != nil {
			writeError(w, r, logger, err)
			return
		}
		if opts.Platform, err = parsePlatform(req.Platform); err != nil {
			writeError(w, r, logger, err)
			return
		}
		srcClient, dstClient, err := transferClients(r, ups, src, dst)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}

		rc := http.NewResponseController(w)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		started := false
		start := func() {
			if started {
				return
			}
			started = true
			h := w.Header()
			h.Set("Content-Type", "application/x-ndjson")
			h.Set("Cache-Control", cacheControlNone)
			// nginx and similar proxies would buffer the stream.
			h.Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
		}
		begun := time.Now()
		// emit runs on this goroutine, one event at a time.
		sum, err := transfer.Sync(ctx, srcClient, dstClient, opts, func(e transfer.Event) {
			transfers.SyncTag(string(e.Status))
			start()
			if e.Error != "" {
				e.Error = redact(e.Error)
			}
			_ = enc.Encode(e)
			_ = rc.Flush()
		})
		if err != nil && !started {
			writeError(w, r, logger, fmt.Errorf("sync %s to %s: %w", src, dst, err))
			return
		}
		start()
		last := syncSummary{Summary: sum}
		if err != nil {
			last.Error = redact(err.Error())
		}
		_ = enc.Encode(last)
		_ = rc.Flush()
		logger.InfoContext(ctx, "repository synced", "source", src.String(), "destination", dst.String(),
			"copied", sum.Copied, "skipped", sum.Skipped, "failed", sum.Failed,
			"took", time.Since(begun).Round(time.Millisecond), "err", last.Error)
	})
}

// compileTagPattern compiles the "tags" expression anchored at both ends,
// so that "v1\\..*" selects v1.0 and not xv1.0; "" selects every tag.
func compileTagPattern(s string) (*regexp.Regexp, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > maxTagPatternLen {
		return nil, errorf(codeBodyInvalid, "tags: the expression is longer than %d bytes", maxTagPatternLen)
	}
	re, err := regexp.Compile("^(?:" + s + ")$")
	if err != nil {
		return nil, errorf(codeBodyInvalid, "tags: invalid regular expression: %s", truncate(err.Error()))
	}
	return re, nil
}
