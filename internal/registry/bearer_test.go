package registry_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// bearerStub is a registry with token auth: /v2/ challenges with a realm on
// realmHost (its own host when empty), /token hands out a token, and
// manifests answer HEAD with a digest when the token is presented.
type bearerStub struct {
	host           string
	pings, tokens  atomic.Int32
	heads, denials atomic.Int32
}

func startBearer(t *testing.T, realmHost string) *bearerStub {
	t.Helper()
	b := &bearerStub{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		realm := realmHost
		if realm == "" {
			realm = r.Host
		}
		challenge := fmt.Sprintf(`Bearer realm="http://%s/token",service="stub"`, realm)
		switch {
		case r.URL.Path == "/v2/":
			b.pings.Add(1)
			w.Header().Set("WWW-Authenticate", challenge)
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/token":
			b.tokens.Add(1)
			fmt.Fprint(w, `{"token":"tok-1"}`)
		case r.Header.Get("Authorization") != "Bearer tok-1":
			b.denials.Add(1)
			w.Header().Set("WWW-Authenticate", challenge+`,scope="repository:app:pull"`)
			w.WriteHeader(http.StatusUnauthorized)
		case strings.Contains(r.URL.Path, "/manifests/"):
			b.heads.Add(1)
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("c", 64))
			w.Header().Set("Content-Length", "100")
		case strings.HasSuffix(r.URL.Path, "/tags/list"):
			fmt.Fprint(w, `{"name":"app","tags":["v1"]}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	b.host = strings.TrimPrefix(srv.URL, "http://")
	return b
}

// TestBearerTokenReuse: one ping and one token exchange serve many calls.
func TestBearerTokenReuse(t *testing.T) {
	b := startBearer(t, "")
	c := newClient(t, b.host, &registry.Options{Auth: authn.FromConfig(authn.AuthConfig{Username: "u", Password: "p"})})
	const n = 8
	for range n {
		if _, err := c.WithSegment("app").GetDigest(ctx, "v1"); err != nil {
			t.Fatalf("GetDigest: %v", err)
		}
	}
	if p, tok, h, d := b.pings.Load(), b.tokens.Load(), b.heads.Load(), b.denials.Load(); p != 1 || tok != 1 || h != n || d != 0 {
		t.Errorf("%d GetDigest: %d pings, %d tokens, %d HEADs, %d denials; want 1, 1, %d, 0", n, p, tok, h, d, n)
	}
	for range 2 {
		if _, err := c.WithSegment("app").ListTags(ctx); err != nil {
			t.Fatalf("ListTags: %v", err)
		}
	}
	// Listing shares one more ping and takes one token for its scope.
	if p, tok := b.pings.Load(), b.tokens.Load(); p != 2 || tok != 2 {
		t.Errorf("after 2 ListTags: %d pings, %d tokens, want 2, 2", p, tok)
	}
}

// TestForeignRealmRefused: a token realm on another host is not contacted
// unless that host is in RedirectHosts.
func TestForeignRealmRefused(t *testing.T) {
	b := startBearer(t, "auth.example.com")
	c := newClient(t, b.host, &registry.Options{Auth: &authn.Basic{Username: "u", Password: "p"}}).WithSegment("app")
	_, err := c.GetDigest(ctx, "v1")
	if err == nil || !strings.Contains(err.Error(), "RedirectHosts") {
		t.Errorf("GetDigest(foreign realm) = %v, want a refusal naming RedirectHosts", err)
	}
}

// TestBlobRedirect: a blob redirect goes to a host in RedirectHosts without
// the registry's credentials, and is refused for any other host.
func TestBlobRedirect(t *testing.T) {
	img := registrytest.RandomImage(t, 1)
	raw, _ := img.RawManifest()
	digest, _ := img.Digest()
	cfgName, _ := img.ConfigName()
	cfg, _ := img.RawConfigFile()

	var mu sync.Mutex
	var blobAuth []string
	blobs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		blobAuth = append(blobAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Write(cfg)
	}))
	t.Cleanup(blobs.Close)
	blobHost := strings.TrimPrefix(blobs.URL, "http://")

	host, _ := startStub(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case strings.Contains(r.URL.Path, "/manifests/"):
			w.Header().Set("Content-Type", string(types.DockerManifestSchema2))
			w.Header().Set("Docker-Content-Digest", digest.String())
			w.Write(raw)
		case strings.HasSuffix(r.URL.Path, "/blobs/"+cfgName.String()):
			http.Redirect(w, r, blobs.URL+"/signed?sig=abc", http.StatusTemporaryRedirect)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	auth := &authn.Basic{Username: "u", Password: "p"}

	refused := newClient(t, host, &registry.Options{Auth: auth}).WithSegment("app")
	if _, err := refused.GetConfigBlob(ctx, "v1"); err == nil || !strings.Contains(err.Error(), "RedirectHosts") {
		t.Errorf("GetConfigBlob(redirect, host not allowed) = %v, want a refusal", err)
	}
	allowed := newClient(t, host, &registry.Options{Auth: auth, RedirectHosts: []string{blobHost}}).WithSegment("app")
	got, err := allowed.GetConfigBlob(ctx, "v1")
	if err != nil || !bytes.Equal(got, cfg) {
		t.Fatalf("GetConfigBlob(redirect to allowed host) = %d bytes, %v, want the config", len(got), err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(blobAuth) != 1 || blobAuth[0] != "" {
		t.Errorf("blob host saw Authorization %q, want one request without it", blobAuth)
	}
}

func TestManifestTooLarge(t *testing.T) {
	big := bytes.Repeat([]byte(" "), 2048)
	for _, chunked := range []bool{false, true} {
		host, _ := startStub(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			if chunked {
				w.Write(big[:1024])
				w.(http.Flusher).Flush()
				w.Write(big[1024:])
				return
			}
			w.Write(big)
		})
		c := newClient(t, host, &registry.Options{MaxManifestBytes: 1000}).WithSegment("app")
		if _, err := c.GetManifest(ctx, "v1"); !errors.Is(err, registry.ErrManifestTooLarge) {
			t.Errorf("GetManifest(2 KiB, cap 1000, chunked %v) = %v, want ErrManifestTooLarge", chunked, err)
		}
	}
}

func TestDebugLog(t *testing.T) {
	host := registrytest.NewGGCR(t)
	registrytest.PushRandomImage(t, host, "org/app", "v1")
	var buf bytes.Buffer
	c := newClient(t, host, &registry.Options{
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}).WithSegment("org", "app")
	if _, err := c.GetDigest(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	for _, want := range []string{"level=DEBUG", "op=\"get digest\"", "registry=" + host, "repository=org/app", "reference=v1", "duration="} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
}
