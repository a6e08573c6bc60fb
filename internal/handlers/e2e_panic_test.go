package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// panickingClient is a real client whose tag listing panics after it has
// talked to the registry with its credentials.
type panickingClient struct{ registry.Client }

func (c panickingClient) WithSegment(segs ...string) registry.Client {
	return panickingClient{c.Client.WithSegment(segs...)}
}

func (c panickingClient) ListTagsPage(ctx context.Context, opts ...registry.ListTagsOption) (*registry.Page, error) {
	if _, err := c.Client.ListTagsPage(ctx, opts...); err != nil {
		panic("list tags failed")
	}
	panic("a bug in a handler")
}

// lockedBuffer is a bytes.Buffer for a logger written from connection
// goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPanicOutputHasNoSecrets: a handler that panics mid-request, with a
// canary token on the request and canary credentials in the client, leaves
// a stack trace in the server's error log that holds neither.
func TestPanicOutputHasNoSecrets(t *testing.T) {
	const password, token = "panic-canary-upstream-pw", "panic-canary-caller-token"
	dist := registrytest.StartDistribution(t, &registrytest.DistributionOptions{Users: map[string]string{"robot": password}})
	creds := &authn.Basic{Username: "robot", Password: password}
	client := panickingClient{clientFor(dist.Host, &registry.Options{Auth: creds})}
	h := NewServer(Config{
		Upstreams: []Upstream{{Name: "dist", Host: dist.Host, Client: client}},
		Auth: newAuth(t, auth.Config{Tokens: []auth.Token{
			tokenFor("ci", token, auth.Scope{Registry: "*", Repositories: []string{"**"}, Actions: []auth.Action{auth.ActionPull}}),
		}}),
	})
	errLog := &lockedBuffer{}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(errLog, "", 0)
	srv.Start()
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/repos/dist/library/alpine/-/tags", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if res, err := srv.Client().Do(req); err == nil {
		_, _ = io.Copy(io.Discard, res.Body) // the test fails on the status alone
		res.Body.Close()
		t.Errorf("GET tags with a panicking handler = %d, want the connection cut", res.StatusCode)
	}
	srv.Close() // waits for the connection goroutine, and its log line

	out := errLog.String()
	if !strings.Contains(out, "panic") || !strings.Contains(out, "goroutine") {
		t.Fatalf("error log = %q, want a panic with its stack", out)
	}
	for _, secret := range []string{password, token, "robot:" + password} {
		for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawStdEncoding.EncodeToString([]byte(secret))} {
			if strings.Contains(out, form) {
				t.Errorf("panic output contains %q", form)
			}
		}
	}
}
