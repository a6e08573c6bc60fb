package registry

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// call is one Client operation in flight: it carries the state the
// transports report into and produces the debug log line at the end.
type call struct {
	c     *client
	op    string
	ref   string
	start time.Time
	st    *callState
}

// begin starts operation op on reference ref ("" for listings).
func (c *client) begin(ctx context.Context, op, ref string) (context.Context, *call) {
	ctx, st := withCallState(ctx)
	return ctx, &call{c: c, op: op, ref: ref, start: time.Now(), st: st}
}

// end maps err to the package's sentinels, wraps it with the operation and
// target, and logs the operation at debug level. Credentials never reach the
// log: only host, path, reference and the redacted error are written.
func (cl *call) end(ctx context.Context, err error, k kind) error {
	if err != nil {
		var oe *opError
		if !errors.As(err, &oe) {
			err = &opError{op: cl.op, target: cl.target(), err: mapError(err, k, cl.st)}
		}
	}
	logger := cl.c.s.logger
	if logger.Enabled(ctx, slog.LevelDebug) {
		attrs := []slog.Attr{
			slog.String("op", cl.op),
			slog.String("registry", cl.c.s.host),
			slog.String("repository", cl.c.path),
			slog.Duration("duration", time.Since(cl.start)),
		}
		if cl.ref != "" {
			attrs = append(attrs, slog.String("reference", cl.ref))
		}
		if n := cl.st.retries.Load(); n > 0 {
			attrs = append(attrs, slog.Int("retries", int(n)))
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		logger.LogAttrs(ctx, slog.LevelDebug, "registry "+cl.op, attrs...)
	}
	return err
}

func (cl *call) target() string {
	t := cl.c.GetRegistry()
	switch {
	case cl.ref == "":
		return t
	case cl.ref[0] == '@':
		return t + cl.ref
	case ValidDigest(cl.ref):
		return t + "@" + cl.ref
	default:
		return t + ":" + cl.ref
	}
}
