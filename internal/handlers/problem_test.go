package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/registry"
)

// timeoutErr is a net.Error that timed out, as a dial or read deadline is.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "http://127.0.0.1:1/v2/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	tests := []struct {
		name       string
		err        error
		code       *problemCode
		retryAfter int
	}{
		{"api error", errorf(codePaginationInvalid, "x"), codePaginationInvalid, 0},
		{"rate limit with delay", fmt.Errorf("list: %w", &registry.RateLimitError{RetryAfter: 2500 * time.Millisecond, Err: errors.New("429")}), codeTooManyRequests, 3},
		{"rate limit without delay", &registry.RateLimitError{}, codeTooManyRequests, 1},
		{"rate limit sentinel", fmt.Errorf("x: %w", registry.ErrRateLimited), codeTooManyRequests, 1},
		{"platform", &registry.PlatformNotFoundError{Platform: v1.Platform{OS: "linux", Architecture: "s390x"}}, codePlatformUnknown, 0},
		{"repository", fmt.Errorf("x: %w", registry.ErrRepositoryNotFound), codeNameUnknown, 0},
		{"manifest", fmt.Errorf("x: %w", registry.ErrImageNotFound), codeManifestUnknown, 0},
		{"denied", fmt.Errorf("x: %w", registry.ErrAccessDenied), codeUpstreamDenied, 0},
		{"invalid name", registry.ErrInvalidName, codeNameInvalid, 0},
		{"invalid reference", registry.ErrInvalidReference, codeReferenceInvalid, 0},
		{"catalog", registry.ErrCatalogNotSupported, codeCatalogUnsupported, 0},
		{"too large", registry.ErrManifestTooLarge, codeUpstreamUnavailable, 0},
		{"transport 500", &transport.Error{StatusCode: 500}, codeUpstreamUnavailable, 0},
		{"transport 503 wrapped", fmt.Errorf("x: %w", &transport.Error{StatusCode: 503}), codeUpstreamUnavailable, 0},
		{"transport 504", &transport.Error{StatusCode: 504}, codeUpstreamTimeout, 0},
		{"transport 401", &transport.Error{StatusCode: 401}, codeUpstreamDenied, 0},
		{"transport 429", &transport.Error{StatusCode: 429}, codeTooManyRequests, 1},
		{"transport 404", &transport.Error{StatusCode: 404}, codeManifestUnknown, 0},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), codeUpstreamTimeout, 0},
		{"net timeout", &url.Error{Op: "Get", URL: "http://x", Err: timeoutErr{}}, codeUpstreamTimeout, 0},
		{"refused", refused, codeUpstreamUnavailable, 0},
		{"dns", &net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}, codeUpstreamUnavailable, 0},
		{"caller unauthenticated", fmt.Errorf("x: %w", auth.ErrUnauthenticated), codeUnauthorized, 0},
		{"caller denied", fmt.Errorf("x: %w", auth.ErrDenied), codeDenied, 0},
		{"caller rate-limited", fmt.Errorf("x: %w", auth.ErrRateLimited), codeTooManyRequests, 0}, // the limiter sets Retry-After
		{"body too large", fmt.Errorf("read body: %w", &http.MaxBytesError{Limit: 10}), codeBodyTooLarge, 0},
		{"unknown", errors.New("boom"), codeInternal, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ra := classify(tt.err)
			if p.Code != tt.code.Code || p.Status != tt.code.Status || ra != tt.retryAfter {
				t.Errorf("classify(%v) = %s %d retry %d, want %s %d retry %d", tt.err, p.Code, p.Status, ra, tt.code.Code, tt.code.Status, tt.retryAfter)
			}
			if p.Type != problemTypePrefix+tt.code.Code || p.Title != tt.code.Title || p.Detail == "" {
				t.Errorf("classify(%v) = %+v, want type, title and detail of %s", tt.err, p, tt.code.Code)
			}
		})
	}
}

func TestProblemCodesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range problemCodes {
		if seen[c.Code] {
			t.Errorf("problem code %s declared twice", c.Code)
		}
		seen[c.Code] = true
		if c.Status < 400 || c.Title == "" {
			t.Errorf("problem code %s = %+v, want a 4xx/5xx status and a title", c.Code, c)
		}
	}
}

func TestWriteError(t *testing.T) {
	secretURL := "https://robot:s3cr3t@registry.example.com/v2/x/manifests/latest?access_token=tok3n"
	tests := []struct {
		name      string
		err       error
		status    int
		level     slog.Level
		headers   map[string]string
		platforms []string
	}{
		{"bad input", errorf(codeNameInvalid, "bad"), 400, slog.LevelDebug, nil, nil},
		{"upstream 500 with credentials", fmt.Errorf("get %s: %w", secretURL, &transport.Error{StatusCode: 500}), 502, slog.LevelError, nil, nil},
		{"rate limited", &registry.RateLimitError{RetryAfter: 7 * time.Second}, 429, slog.LevelDebug, map[string]string{"Retry-After": "7"}, nil},
		{"platform", &registry.PlatformNotFoundError{
			Platform:  v1.Platform{OS: "linux", Architecture: "s390x"},
			Available: []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm", Variant: "v7"}},
		}, 404, slog.LevelDebug, nil, []string{"linux/amd64", "linux/arm/v7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			w := httptest.NewRecorder()
			w.Header().Set("ETag", `"stale"`)
			r := httptest.NewRequest(http.MethodGet, "/api/v1/repos/demo/x/-/tags", nil)
			writeError(w, r, logger, tt.err)

			if w.Code != tt.status {
				t.Errorf("status = %d, want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("Content-Type"); got != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", got)
			}
			if got := w.Header().Get("ETag"); got != "" {
				t.Errorf("ETag = %q, want none on an error", got)
			}
			for k, v := range tt.headers {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			var p problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if p.Status != tt.status || p.Code == "" || p.Type == "" || p.Title == "" || p.Detail == "" {
				t.Errorf("problem = %+v, want every field set and status %d", p, tt.status)
			}
			if diff := cmp.Diff(tt.platforms, p.Platforms); diff != "" {
				t.Errorf("platforms mismatch (-want +got):\n%s", diff)
			}
			var line struct{ Level string }
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("log %q: %v", logs.String(), err)
			}
			if line.Level != tt.level.String() {
				t.Errorf("log level = %s, want %s", line.Level, tt.level)
			}
			for _, secret := range []string{"s3cr3t", "tok3n", "robot"} {
				if strings.Contains(w.Body.String(), secret) || strings.Contains(logs.String(), secret) {
					t.Errorf("%q leaked: body %s log %s", secret, w.Body, logs.String())
				}
			}
		})
	}
}

func TestWriteErrorCanceledWritesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/healthz", nil).WithContext(ctx)
	writeError(w, r, slog.New(slog.DiscardHandler), fmt.Errorf("x: %w", context.Canceled))
	if w.Body.Len() != 0 {
		t.Errorf("body = %q, want nothing for a caller that went away", w.Body)
	}
}

func TestETagMatches(t *testing.T) {
	tests := []struct {
		header, etag string
		want         bool
	}{
		{"", `"a"`, false},
		{`"a"`, `"a"`, true},
		{`W/"a"`, `"a"`, true},
		{`"b", "a"`, `"a"`, true},
		{`"b",W/"a"`, `"a"`, true},
		{`"b"`, `"a"`, false},
		{`*`, `"a"`, true},
		{` * `, `"a"`, true},
		{`"a`, `"a"`, false},
		{`junk, "a"`, `"a"`, true},
		{`"ab"`, `"a"`, false},
		{"   ", `"a"`, false},
	}
	for _, tt := range tests {
		if got := etagMatches(tt.header, tt.etag); got != tt.want {
			t.Errorf("etagMatches(%q, %q) = %v, want %v", tt.header, tt.etag, got, tt.want)
		}
	}
}
