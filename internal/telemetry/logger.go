package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// NewLogger returns a logger writing to w in format "json" (the default when
// empty) or "text", dropping records below level ("debug", "info" (the
// default when empty), "warn" or "error", any case). Every record logged
// with a context that carries a request ID gets a request_id attribute.
// When w has a Flush method (a LogWriter), records at Warn and above are
// flushed as soon as they are written.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	lvl := slog.LevelInfo
	if level != "" {
		if err := lvl.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
		}
	}
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: durationsInMicroseconds}
	var h slog.Handler
	switch strings.ToLower(format) {
	case "", "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
	f, _ := w.(flusher)
	return slog.New(requestIDHandler{h, f}), nil
}

// durationsInMicroseconds logs every duration as whole microseconds under
// its key plus "_us" ("took" becomes "took_us"), the unit of the access
// log's duration_us, instead of slog's nanoseconds (JSON) or Go's duration
// strings (text): one unit for every duration in every line.
func durationsInMicroseconds(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.Int64(a.Key+"_us", a.Value.Duration().Microseconds())
	}
	return a
}

// requestIDHandler adds the context's request ID to records that lack one,
// and flushes a buffering writer after records at Warn and above.
type requestIDHandler struct {
	slog.Handler
	flush flusher
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" && !hasAttr(r, "request_id") {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	err := h.Handler.Handle(ctx, r)
	if h.flush != nil && r.Level >= slog.LevelWarn {
		if ferr := h.flush.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs), h.flush}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name), h.flush}
}

func hasAttr(r slog.Record, key string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == key
		return !found
	})
	return found
}
