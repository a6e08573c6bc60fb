package telemetry

import (
	"context"
	"errors"
	"github.com/regapi/regapi/internal/redact"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Outcome label values of regapi_upstream_requests_total.
const (
	OutcomeOK           = "ok"           // 2xx
	OutcomeRedirect     = "redirect"     // 3xx (blob redirects to storage)
	OutcomeUnauthorized = "unauthorized" // 401, usually a token challenge
	OutcomeDenied       = "denied"       // 403
	OutcomeNotFound     = "not_found"    // 404
	OutcomeRateLimited  = "rate_limited" // 429
	OutcomeClientError  = "client_error" // other 4xx
	OutcomeServerError  = "server_error" // 5xx
	OutcomeTimeout      = "timeout"      // deadline or network timeout
	OutcomeCanceled     = "canceled"     // the caller gave up
	OutcomeError        = "error"        // any other transport failure
)

// UpstreamTransport returns a RoundTripper that measures every request sent
// through next to the registry named registry (a configured name, bounded):
// regapi_upstream_requests_total{registry,operation,outcome},
// regapi_upstream_request_duration_seconds{registry,operation} (time to
// response headers), regapi_upstream_retries_total{registry,operation},
// regapi_upstream_rate_limited_total{registry} and
// regapi_upstream_ratelimit_remaining{registry}. Failures (transport errors,
// timeouts, 429 and 5xx) are logged at Warn with the URL redacted.
//
// Put it beneath go-containerregistry's retry and auth layers (pass it as
// the base transport) so each attempt is seen: an attempt that re-sends the
// same *http.Request after a failure counts as a retry, one after a 401
// challenge does not. With a nil m it returns next.
func UpstreamTransport(next http.RoundTripper, registry string, m *Metrics) http.RoundTripper {
	if m == nil {
		return next
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &upstreamTransport{next: next, registry: registry, m: m, attempts: newAttempts()}
}

type upstreamTransport struct {
	next     http.RoundTripper
	registry string
	m        *Metrics
	attempts *attempts
}

func (t *upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	op := Operation(req)
	at, retry := t.attempts.begin(req)
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	elapsed := time.Since(start)

	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	t.attempts.end(at, status)
	outcome := classify(req.Context(), status, err)

	m := t.m
	m.upRequests.WithLabelValues(t.registry, op, outcome).Inc()
	m.upDuration.WithLabelValues(t.registry, op).Observe(elapsed.Seconds())
	if retry {
		m.upRetries.WithLabelValues(t.registry, op).Inc()
	}
	if status == http.StatusTooManyRequests {
		m.upRateLimited.WithLabelValues(t.registry).Inc()
	}
	if err == nil {
		if n, ok := rateLimitRemaining(resp.Header); ok {
			m.upRemaining.WithLabelValues(t.registry).Set(n)
		}
	}

	if failed(outcome) {
		attrs := []slog.Attr{
			slog.String("registry", t.registry),
			slog.String("operation", op),
			slog.String("method", req.Method),
			slog.String("url", redact.URL(req.URL)),
			slog.String("outcome", outcome),
			slog.Int64("duration_us", elapsed.Microseconds()),
			slog.Bool("retry", retry),
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", redact.Error(err)))
		} else {
			attrs = append(attrs, slog.Int("status", status))
		}
		m.logger.LogAttrs(req.Context(), slog.LevelWarn, "upstream request failed", attrs...)
	}
	return resp, err
}

// classify maps an attempt's result to an outcome label.
func classify(ctx context.Context, status int, err error) string {
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			return OutcomeCanceled
		case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
			return OutcomeTimeout
		}
		return OutcomeError
	}
	switch {
	case status < 300:
		return OutcomeOK
	case status < 400:
		return OutcomeRedirect
	case status == http.StatusUnauthorized:
		return OutcomeUnauthorized
	case status == http.StatusForbidden:
		return OutcomeDenied
	case status == http.StatusNotFound:
		return OutcomeNotFound
	case status == http.StatusTooManyRequests:
		return OutcomeRateLimited
	case status < 500:
		return OutcomeClientError
	}
	return OutcomeServerError
}

// failed says which outcomes are the upstream's fault and worth a warning;
// 401 and 404 are part of normal registry traffic.
func failed(outcome string) bool {
	switch outcome {
	case OutcomeError, OutcomeTimeout, OutcomeServerError, OutcomeRateLimited:
		return true
	}
	return false
}

// rateLimitRemainingKey is the header's canonical form,
// "Ratelimit-Remaining": looked up as is, it is not canonicalized (and
// allocated) anew for every response as Header.Get would.
var rateLimitRemainingKey = http.CanonicalHeaderKey("RateLimit-Remaining")

// rateLimitRemaining reads Docker Hub's "RateLimit-Remaining: 76;w=21600".
func rateLimitRemaining(h http.Header) (float64, bool) {
	var v string
	if vs := h[rateLimitRemainingKey]; len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return 0, false
	}
	v, _, _ = strings.Cut(v, ";")
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 63)
	if err != nil {
		return 0, false
	}
	return float64(n), true
}
