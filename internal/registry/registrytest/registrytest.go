// Package registrytest starts real registries in-process for tests: the CNCF
// distribution registry (v3, in-memory storage, optional htpasswd auth and
// TLS) and go-containerregistry's in-memory registry. It also builds and
// pushes random images and indexes, and records the requests a registry saw.
//
// Everything listens on 127.0.0.1 and is torn down with t.Cleanup.
package registrytest

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Registry is a registry running in-process for the duration of a test.
type Registry struct {
	// Host is "127.0.0.1:port", the value to hand to a registry client.
	Host string
	// URL is the base URL, "http://127.0.0.1:port" or "https://…".
	URL string
	// Server is the underlying test server. For TLS registries,
	// Server.Certificate() is the self-signed certificate and CAPEM holds it
	// in PEM form.
	Server *httptest.Server
	// CAPEM is the PEM-encoded certificate of a TLS registry, nil otherwise.
	CAPEM []byte

	mu       sync.Mutex
	requests []string
}

// Requests returns the requests the registry has served so far, each as
// "METHOD /path" (no query string), in arrival order.
func (r *Registry) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.requests...)
}

// CountRequests returns how many served requests have the given method (""
// for any) and a path starting with pathPrefix.
func (r *Registry) CountRequests(method, pathPrefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, req := range r.requests {
		m, p, _ := strings.Cut(req, " ")
		if (method == "" || m == method) && strings.HasPrefix(p, pathPrefix) {
			n++
		}
	}
	return n
}

// ResetRequests forgets the requests recorded so far.
func (r *Registry) ResetRequests() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = nil
}

// record wraps h so that every request is appended to r's log.
func (r *Registry) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests = append(r.requests, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	})
}

// serve starts h on loopback (TLS when tls is set) and fills in r.
func (r *Registry) serve(t testing.TB, h http.Handler, tls bool) {
	t.Helper()
	r.Server = httptest.NewUnstartedServer(r.record(h))
	// Handshake failures are what some tests are about; keep them quiet.
	r.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		r.Server.StartTLS()
		r.CAPEM = certPEM(r.Server)
	} else {
		r.Server.Start()
	}
	t.Cleanup(r.Server.Close)
	r.URL = r.Server.URL
	r.Host = strings.TrimPrefix(strings.TrimPrefix(r.URL, "http://"), "https://")
}
