package registry_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// stub is a fake registry for faults a real one cannot show: /v2/ answers
// 200, every other request goes to handle and is counted.
type stub struct {
	hits   atomic.Int32
	handle func(n int, w http.ResponseWriter, r *http.Request)
}

func startStub(t *testing.T, handle func(n int, w http.ResponseWriter, r *http.Request)) (string, *stub) {
	t.Helper()
	s := &stub{handle: handle}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		s.handle(int(s.hits.Add(1)), w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), s
}

// sleeps records the retry delays instead of waiting them out.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) get() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func ociError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"stub says %s"}]}`, code, strings.ToLower(code))
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name       string
		handle     func(w http.ResponseWriter, r *http.Request)
		call       string // "head" (GetDigest, a HEAD request) or "get" (GetManifest)
		want       []error
		notWant    []error
		wantStatus int
	}{
		{"401", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, "get",
			[]error{registry.ErrAccessDenied}, []error{registry.ErrImageNotFound}, 401},
		{"403", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) }, "get",
			[]error{registry.ErrAccessDenied}, nil, 403},
		{"DENIED", func(w http.ResponseWriter, r *http.Request) { ociError(w, 403, "DENIED") }, "get",
			[]error{registry.ErrAccessDenied}, nil, 403},
		{"404 MANIFEST_UNKNOWN", func(w http.ResponseWriter, r *http.Request) { ociError(w, 404, "MANIFEST_UNKNOWN") }, "get",
			[]error{registry.ErrImageNotFound}, []error{registry.ErrRepositoryNotFound}, 404},
		{"404 NAME_UNKNOWN", func(w http.ResponseWriter, r *http.Request) { ociError(w, 404, "NAME_UNKNOWN") }, "get",
			[]error{registry.ErrRepositoryNotFound, registry.ErrImageNotFound}, nil, 404},
		{"404 bare GET", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, "get",
			[]error{registry.ErrImageNotFound}, []error{registry.ErrRepositoryNotFound}, 404},
		{"404 bare HEAD", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, "head",
			[]error{registry.ErrImageNotFound}, nil, 404},
		{"429 TOOMANYREQUESTS over cap", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3600")
			ociError(w, 429, "TOOMANYREQUESTS")
		}, "get", []error{registry.ErrRateLimited}, []error{registry.ErrAccessDenied}, 429},
		{"400 unknown", func(w http.ResponseWriter, r *http.Request) { ociError(w, 400, "MANIFEST_INVALID") }, "get",
			nil, []error{registry.ErrImageNotFound, registry.ErrAccessDenied, registry.ErrRateLimited}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host, _ := startStub(t, func(_ int, w http.ResponseWriter, r *http.Request) { tc.handle(w, r) })
			c := newClient(t, host, nil).WithSegment("org", "app")
			var err error
			if tc.call == "head" {
				_, err = c.GetDigest(ctx, "v1")
			} else {
				_, err = c.GetManifest(ctx, "v1")
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want it to match %v", err, w)
				}
			}
			for _, w := range tc.notWant {
				if errors.Is(err, w) {
					t.Errorf("err = %v, want it not to match %v", err, w)
				}
			}
			// The README's transport-error example keeps working.
			var te *transport.Error
			if !errors.As(err, &te) || te.StatusCode != tc.wantStatus {
				t.Errorf("errors.As(err, *transport.Error) = %v (status %v), want status %d", te != nil, te, tc.wantStatus)
			}
		})
	}
}

func TestRateLimitRetryAfter(t *testing.T) {
	t.Run("over the cap returns at once", func(t *testing.T) {
		host, s := startStub(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(429)
		})
		c := newClient(t, host, &registry.Options{MaxRetryAfter: 10 * time.Second}).WithSegment("app")
		var sl sleeps
		registry.SetRetrySleep(c, sl.sleep)
		_, err := c.GetManifest(ctx, "v1")
		var rl *registry.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != time.Minute || !errors.Is(err, registry.ErrRateLimited) {
			t.Fatalf("GetManifest = %v, want *RateLimitError with RetryAfter 1m", err)
		}
		if n := s.hits.Load(); n != 1 {
			t.Errorf("requests = %d, want 1 (no retry beyond the cap)", n)
		}
		if got := sl.get(); len(got) != 0 {
			t.Errorf("slept %v, want no sleep", got)
		}
	})
	t.Run("within the cap is honoured", func(t *testing.T) {
		host, s := startStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n < 3 {
				w.Header().Set("Retry-After", "2")
				w.WriteHeader(429)
				return
			}
			w.WriteHeader(404)
		})
		c := newClient(t, host, nil).WithSegment("app")
		var sl sleeps
		registry.SetRetrySleep(c, sl.sleep)
		err := c.CheckImageExists(ctx, "v1")
		if !errors.Is(err, registry.ErrImageNotFound) {
			t.Fatalf("CheckImageExists = %v, want ErrImageNotFound after the 429s", err)
		}
		if got, want := sl.get(), []time.Duration{2 * time.Second, 2 * time.Second}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("slept %v, want %v", got, want)
		}
		if n := s.hits.Load(); n != 3 {
			t.Errorf("requests = %d, want 3", n)
		}
	})
	t.Run("retries run out", func(t *testing.T) {
		host, s := startStub(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
		})
		c := newClient(t, host, &registry.Options{MaxRetries: 2}).WithSegment("app")
		var sl sleeps
		registry.SetRetrySleep(c, sl.sleep)
		_, err := c.GetDigest(ctx, "v1")
		var rl *registry.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
			t.Errorf("GetDigest = %v, want *RateLimitError with RetryAfter 1s", err)
		}
		if n := s.hits.Load(); n != 3 {
			t.Errorf("requests = %d, want 3 (1 + MaxRetries 2)", n)
		}
	})
}

func TestServerErrorRetried(t *testing.T) {
	tests := []struct {
		name      string
		failures  int
		wantErr   bool
		wantHits  int32
		wantSleep int
	}{
		{"recovers", 2, false, 3, 2},
		{"gives up", 100, true, 4, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host, s := startStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n <= tc.failures {
					w.WriteHeader(500)
					return
				}
				w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("a", 64))
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Header().Set("Content-Length", "2")
			})
			c := newClient(t, host, nil).WithSegment("app")
			var sl sleeps
			registry.SetRetrySleep(c, sl.sleep)
			_, err := c.GetDigest(ctx, "v1")
			var te *transport.Error
			if tc.wantErr && (!errors.As(err, &te) || te.StatusCode != 500) {
				t.Errorf("GetDigest = %v, want the 500 as *transport.Error", err)
			}
			if !tc.wantErr && err != nil {
				t.Errorf("GetDigest = %v, want success after retries", err)
			}
			if n := s.hits.Load(); n != tc.wantHits {
				t.Errorf("requests = %d, want %d", n, tc.wantHits)
			}
			got := sl.get()
			if len(got) != tc.wantSleep {
				t.Fatalf("slept %v, want %d backoffs", got, tc.wantSleep)
			}
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1]/2 {
					t.Errorf("backoff %v does not grow", got)
				}
			}
		})
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	host, s := startStub(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	c := newClient(t, host, &registry.Options{ResponseHeaderTimeout: 200 * time.Millisecond}).WithSegment("app")
	start := time.Now()
	_, err := c.GetManifest(ctx, "v1")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("GetManifest(hung registry) = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("timeout took %v", d)
	}
	if n := s.hits.Load(); n != 1 {
		t.Errorf("requests = %d, want 1 (a timeout is not retried)", n)
	}

	// Options.Timeout bounds the whole operation the same way.
	c = newClient(t, host, &registry.Options{Timeout: 200 * time.Millisecond}).WithSegment("app")
	_, err = c.GetDigest(ctx, "v1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetDigest(hung registry, Timeout) = %v, want context.DeadlineExceeded", err)
	}
}

// TestNoCredentialsInErrorsOrLogs fails requests of an authenticated client
// in several ways and checks that neither the password nor its encodings
// show up in error strings or log lines.
func TestNoCredentialsInErrorsOrLogs(t *testing.T) {
	const user, pass = "alice", "hunter2-s3cret"
	secrets := []string{pass, base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)), "tok-123-secret"}
	img := registrytest.RandomImage(t, 1)
	raw, _ := img.RawManifest()
	digest, _ := img.Digest()
	host, _ := startStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/manifests/good"):
			w.Header().Set("Content-Type", string(types.DockerManifestSchema2))
			w.Header().Set("Docker-Content-Digest", digest.String())
			w.Write(raw)
		case strings.Contains(r.URL.Path, "/blobs/"):
			// A redirect to a foreign host with a signed URL.
			http.Redirect(w, r, "http://blobs.example.com/b?X-Signature=tok-123-secret", http.StatusTemporaryRedirect)
		case n%2 == 0:
			w.WriteHeader(401)
		default:
			ociError(w, 403, "DENIED")
		}
	})
	var logs bytes.Buffer
	c := newClient(t, host, &registry.Options{
		Auth:   authn.FromConfig(authn.AuthConfig{Username: user, Password: pass}),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}).WithSegment("app")
	var errs []error
	for range 3 {
		_, err := c.GetManifest(ctx, "v1")
		errs = append(errs, err)
	}
	_, err := c.GetConfigBlob(ctx, "good")
	if err == nil || !strings.Contains(err.Error(), "blobs.example.com") {
		t.Errorf("GetConfigBlob(redirected to a foreign host) = %v, want an error naming the host", err)
	}
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("want errors from the stub")
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %q contains a secret", err)
			}
		}
	}
	if logs.Len() == 0 {
		t.Fatal("no debug log lines")
	}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs contain a secret:\n%s", logs.String())
		}
	}
}
