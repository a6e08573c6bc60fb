package registrytest

import (
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// NewGGCR starts go-containerregistry's in-memory registry over plain HTTP
// and returns its host ("127.0.0.1:port").
func NewGGCR(t testing.TB) string {
	t.Helper()
	return StartGGCR(t, false).Host
}

// StartGGCR is NewGGCR returning the whole Registry; tls serves HTTPS with
// httptest's self-signed certificate.
func StartGGCR(t testing.TB, tls bool) *Registry {
	t.Helper()
	return StartGGCRWith(t, tls)
}

// StartGGCRWith is StartGGCR with more of the registry's options, such as
// ggcrregistry.WithReferrersSupport(true) for the OCI 1.1 referrers API.
func StartGGCRWith(t testing.TB, tls bool, opts ...ggcrregistry.Option) *Registry {
	t.Helper()
	r := &Registry{}
	opts = append([]ggcrregistry.Option{ggcrregistry.Logger(log.New(io.Discard, "", 0))}, opts...)
	r.serve(t, ggcrregistry.New(opts...), tls)
	return r
}

// certPEM returns the PEM encoding of a TLS test server's certificate.
func certPEM(s *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}
