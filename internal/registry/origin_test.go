package registry_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/regapi/regapi/internal/registry"
)

// portPair is two loopback listeners that the client knows as
// reg.test:443 (the registry) and reg.test:80 (the other port): its base
// transport dials them instead (the name is never resolved), so that the
// default ports, the case the origin rule is about, are tested without
// binding privileged ports. A name, not 127.0.0.1, because ggcr refuses
// a token realm at a loopback address before the guard would see it.
type portPair struct {
	// other counts requests to :80 and those that carried credentials.
	other, otherAuth atomic.Int32
	transport        http.RoundTripper
}

func startPortPair(t *testing.T, registry http.HandlerFunc) *portPair {
	t.Helper()
	p := &portPair{}
	home := httptest.NewServer(registry)
	t.Cleanup(home.Close)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.other.Add(1)
		if r.Header.Get("Authorization") != "" {
			p.otherAuth.Add(1)
		}
		if strings.HasSuffix(r.URL.Path, "/token") {
			w.Write([]byte(`{"token":"stolen"}`))
			return
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Write([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}`))
	}))
	t.Cleanup(other.Close)
	addr := map[string]string{
		"reg.test:443": strings.TrimPrefix(home.URL, "http://"),
		"reg.test:80":  strings.TrimPrefix(other.URL, "http://"),
	}
	var d net.Dialer
	p.transport = &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		to, ok := addr[a]
		if !ok {
			return nil, errors.New("test dialer: no listener for " + a)
		}
		return d.DialContext(ctx, network, to)
	}}
	return p
}

// TestOtherPortGetsNothing: for a plain-HTTP registry on :443, port 80 of
// the same host is another origin. A token realm there gets no request (so
// not the registry's Basic credentials), and a manifest redirect there is
// refused, not followed.
func TestOtherPortGetsNothing(t *testing.T) {
	t.Run("realm", func(t *testing.T) {
		p := startPortPair(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="http://reg.test:80/token",service="reg"`)
			w.WriteHeader(http.StatusUnauthorized)
		})
		c := registry.NewClientWithOptions("reg.test:443", &registry.Options{
			Insecure: true, MaxRetries: -1, Transport: p.transport,
			Auth: &authn.Basic{Username: "robot", Password: "upstream-secret"},
		}).WithSegment("app")
		_, err := c.GetDigest(ctx, "v1")
		if !errors.Is(err, registry.ErrHostRefused) {
			t.Errorf("GetDigest = %v, want ErrHostRefused", err)
		}
		if n, a := p.other.Load(), p.otherAuth.Load(); n != 0 || a != 0 {
			t.Errorf(":80 got %d requests, %d with credentials; want 0, 0", n, a)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		p := startPortPair(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				return
			}
			// The redirect away from the registry is the test's point.
			http.Redirect(w, r, "http://reg.test:80"+r.URL.Path, http.StatusTemporaryRedirect) //nolint:gosec // G710: see above
		})
		c := registry.NewClientWithOptions("reg.test:443", &registry.Options{
			Insecure: true, MaxRetries: -1, Transport: p.transport,
		}).WithSegment("app")
		if _, err := c.GetManifest(ctx, "v1"); !errors.Is(err, registry.ErrHostRefused) {
			t.Errorf("GetManifest = %v, want ErrHostRefused (nil: :80's body was returned)", err)
		}
		if n := p.other.Load(); n != 0 {
			t.Errorf(":80 got %d requests, want 0", n)
		}
	})
}
