package handlers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
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

// foreignHost is a listener on another loopback address standing in for a
// host regapi must never talk to; it counts the connections it accepts
// and the Authorization headers it was sent.
type foreignHost struct {
	host  string
	conns atomic.Int32
	mu    sync.Mutex
	auth  []string
}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// startForeign listens on addr ("127.0.0.2:0": another loopback address;
// "127.0.0.1:0": another port, named "localhost:port" so that only regapi's
// own guard, not go-containerregistry's check of IP literals, stands
// between a redirect and the host).
func startForeign(t *testing.T, addr string) *foreignHost {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	f := &foreignHost{host: ln.Addr().String()}
	if strings.HasPrefix(addr, "127.0.0.1:") {
		f.host = "localhost:" + strings.TrimPrefix(f.host, "127.0.0.1:")
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		fmt.Fprint(w, `{"token":"foreign"}`)
	}))
	if err := srv.Listener.Close(); err != nil {
		t.Fatal(err)
	}
	srv.Listener = countingListener{Listener: ln, n: &f.conns}
	srv.Start()
	t.Cleanup(srv.Close)
	return f
}

// TestRequestsChooseNoHost: nothing a caller puts in a request (path,
// query, Host and forwarding headers, an absolute request URI) makes
// regapi connect anywhere but its configured upstream.
func TestRequestsChooseNoHost(t *testing.T) {
	foreign := startForeign(t, "127.0.0.2:0")
	dist := registrytest.StartDistribution(t, nil)
	registrytest.PushRandomImage(t, dist.Host, "library/alpine", "latest")
	a := newAPI(t, Config{Upstreams: []Upstream{{Name: "dist", Host: dist.Host, Client: clientFor(dist.Host, nil)}}})
	fh := foreign.host
	enc := strings.NewReplacer(":", "%3A", "/", "%2F")

	paths := []string{
		"/api/v1/repos/" + fh + "/library/alpine/-/tags",
		"/api/v1/repos/" + enc.Replace("http://"+fh) + "/library/alpine/-/tags",
		"/api/v1/repos/dist/" + enc.Replace("http://"+fh+"/x") + "/-/tags",
		"/api/v1/repos/dist/..%2F..%2F" + enc.Replace(fh) + "/-/tags",
		"/api/v1/repos/dist/library/alpine/-/manifests/" + enc.Replace("http://"+fh+"/v2/x/manifests/latest"),
		"/api/v1/repos/dist/library/alpine/-/manifests/@" + enc.Replace(fh),
		"/api/v1/repos/dist/library/alpine/-/tags?last=" + enc.Replace("http://"+fh),
		"/api/v1/repos/dist/-/repositories?last=" + enc.Replace(fh),
		"/api/v1/repos/dist/library/alpine/-/config/latest?platform=" + enc.Replace("http://"+fh),
		"/api/v1/repos/dist/library/alpine/-/tags?registry=" + enc.Replace(fh) + "&host=" + enc.Replace(fh),
		"/api/v1/cache?prefix=" + enc.Replace(fh),
		"/api/v1/repos/dist/library/alpine/-/tags",
		"/api/v1/repos/dist/library/alpine/-/manifests/latest",
	}
	headers := http.Header{
		"X-Forwarded-Host":  {fh},
		"X-Forwarded-For":   {"127.0.0.2"},
		"X-Forwarded-Proto": {"http"},
		"Forwarded":         {"host=" + fh + ";proto=http"},
		"X-Original-Url":    {"http://" + fh + "/v2/"},
		"X-Rewrite-Url":     {"http://" + fh + "/v2/"},
		"X-Registry":        {fh},
		"Referer":           {"http://" + fh + "/"},
	}
	for _, p := range paths {
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			req, err := http.NewRequestWithContext(context.Background(), method, a.URL+p, nil)
			if err != nil {
				t.Fatalf("new request %s: %v", p, err)
			}
			for k, v := range headers {
				req.Header[k] = v
			}
			req.Host = fh // the Host header itself
			req.Header.Set("Authorization", "Bearer "+adminToken)
			res, err := a.c.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, p, err)
			}
			res.Body.Close()
		}
	}
	// An absolute-form request line names the foreign host as authority.
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }() // the answer is read below
	if _, err := fmt.Fprintf(conn, "GET http://%s/api/v1/repos/dist/library/alpine/-/tags HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", fh, fh, adminToken); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("absolute-form request: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("absolute-form GET tags = %d, want 200 from the configured upstream", res.StatusCode)
	}

	if n := foreign.conns.Load(); n != 0 {
		t.Errorf("the foreign host got %d connections, want 0", n)
	}
	for _, r := range dist.Requests() {
		if !strings.HasPrefix(strings.SplitN(r, " ", 2)[1], "/v2/") {
			t.Errorf("upstream saw %q, want only /v2/ requests", r)
		}
	}
}

// redirectingRegistry is a registry stub with one image, app:v1, whose
// blobs are redirected to blobTarget and whose /v2/ challenge, when realm
// is set, names that token realm. Credentials are required.
func redirectingRegistry(t *testing.T, blobTarget, realm string) string {
	t.Helper()
	img := registrytest.RandomImage(t, 1)
	raw := must(img.RawManifest())
	digest := must(img.Digest())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if realm != "" {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="stub"`, realm))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="stub"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case strings.Contains(r.URL.Path, "/manifests/"):
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			w.Header().Set("Docker-Content-Digest", digest.String())
			w.Write(raw)
		case strings.Contains(r.URL.Path, "/blobs/"):
			http.Redirect(w, r, blobTarget, http.StatusTemporaryRedirect)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// dialRecorder is a base transport that records every address dialed.
type dialRecorder struct {
	mu    sync.Mutex
	addrs []string
}

func (d *dialRecorder) transport() *http.Transport {
	var dialer net.Dialer
	return &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.mu.Lock()
		d.addrs = append(d.addrs, addr)
		d.mu.Unlock()
		return dialer.DialContext(ctx, network, addr)
	}}
}

func (d *dialRecorder) dialed(prefix string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, a := range d.addrs {
		if strings.HasPrefix(a, prefix) {
			out = append(out, a)
		}
	}
	return out
}

// TestUpstreamRedirectsAndRealms: an upstream that redirects blobs to a
// host not allowed for it, to the cloud metadata address, or that names a
// token realm on such a host gets no connection there and no
// credentials; regapi answers 502. Allowed, the same redirect is followed
// without the registry's credentials (the control that shows the counter
// counts).
func TestUpstreamRedirectsAndRealms(t *testing.T) {
	foreign := startForeign(t, "127.0.0.1:0")
	creds := &authn.Basic{Username: "robot", Password: "ssrf-upstream-password"}
	const metadata = "169.254.169.254"
	rec := &dialRecorder{}
	client := func(host string, allowed ...string) registry.Client {
		return clientFor(host, &registry.Options{Auth: creds, RedirectHosts: allowed, Transport: rec.transport()})
	}
	ups := []Upstream{
		{Name: "toforeign", Client: client(redirectingRegistry(t, "http://"+foreign.host+"/blob", ""))},
		{Name: "tometadata", Client: client(redirectingRegistry(t, "http://"+metadata+"/latest/meta-data/iam", ""))},
		{Name: "foreignrealm", Client: client(redirectingRegistry(t, "", "http://"+foreign.host+"/token"))},
		{Name: "metadatarealm", Client: client(redirectingRegistry(t, "", "http://"+metadata+"/token"))},
		{Name: "allowed", Client: client(redirectingRegistry(t, "http://"+foreign.host+"/blob", ""), foreign.host)},
	}
	for i := range ups {
		ups[i].Host = ups[i].Name + ".example"
	}
	a := newAPI(t, Config{Upstreams: ups})

	for _, up := range []string{"toforeign", "tometadata", "foreignrealm", "metadatarealm"} {
		// Extract may have started its stream before the first layer is
		// fetched; a refusal then cuts it. Only the host's silence counts.
		if res, err := a.c.Get(a.URL + "/api/v1/repos/" + up + "/app/-/extract/v1"); err == nil {
			_, _ = io.Copy(io.Discard, res.Body) // may be cut; only the host's silence counts
			res.Body.Close()
		}
		for _, action := range []string{"config", "manifests", "tags"} {
			path := fmt.Sprintf("/api/v1/repos/%s/app/-/%s/v1", up, action)
			if action == "tags" {
				path = fmt.Sprintf("/api/v1/repos/%s/app/-/tags", up)
			}
			res := a.get(t, path)
			if up == "toforeign" || up == "tometadata" {
				if action == "manifests" || action == "tags" {
					continue // no blob involved; the stub serves these
				}
			}
			// go-containerregistry refuses a realm on an IP literal in a
			// private range itself, the guard any other host: both 502.
			if want := http.StatusBadGateway; res.Status != want {
				t.Errorf("GET %s = %d, want %d; body %s", path, res.Status, want, res.Body)
			}
			if strings.Contains(string(res.Body), foreign.host) || strings.Contains(string(res.Body), metadata) {
				t.Errorf("GET %s: body names the refused host: %s", path, res.Body)
			}
		}
	}
	if n := foreign.conns.Load(); n != 0 {
		t.Errorf("the foreign host got %d connections before it was allowed, want 0", n)
	}
	if d := rec.dialed(metadata); len(d) != 0 {
		t.Errorf("dialed %v, want no connection to %s", d, metadata)
	}

	// The foreign host answers with bytes that are not the config blob,
	// so the request fails, but only after a connection.
	if res := a.get(t, "/api/v1/repos/allowed/app/-/config/v1"); res.Status < 500 {
		t.Errorf("GET config via an allowed redirect = %d, want a 5xx (digest mismatch); body %s", res.Status, res.Body)
	}
	if foreign.conns.Load() == 0 {
		t.Fatalf("an allowed redirect made no connection: the counter does not count")
	}
	foreign.mu.Lock()
	defer foreign.mu.Unlock()
	for _, h := range foreign.auth {
		if h != "" {
			t.Errorf("the redirect target got Authorization %q, want none", h)
		}
	}
}
