package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeFile writes content into dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and
// returns their paths and a pool trusting the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "regapi test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	certFile = writeFile(t, dir, "tls.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, dir, "tls.key", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
	return certFile, keyFile, pool
}

// TestRunTLS: with --tls-cert and --tls-key regapi serves HTTPS only.
func TestRunTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	r := startRun(t, nil, "--listen", "127.0.0.1:0", "--demo", "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(r.base, "https://") {
		t.Fatalf("address = %s, want https://", r.base)
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if status, body, _ := get(t, c, http.MethodGet, r.base+"/api/v1/repos/demo/library/alpine/-/tags"); status != http.StatusOK {
		t.Errorf("GET tags over HTTPS = %d, want 200; body %s", status, body)
	}
	plain := &http.Client{Timeout: 30 * time.Second}
	res, err := plain.Get("http" + strings.TrimPrefix(r.base, "https") + "/healthz")
	if err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Errorf("GET /healthz over plain HTTP = 200, want it refused")
		}
	}
	for _, args := range [][]string{
		{"--demo", "--tls-cert", cert},
		{"--demo", "--tls-key", key},
		{"--demo", "--tls-cert", filepath.Join(dir, "missing.crt"), "--tls-key", key},
	} {
		if err := runOnce(t, args...); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}

// runOnce runs with args on a free port and returns what run returned
// when it failed to start; a started run is a test failure.
func runOnce(t *testing.T, args ...string) error {
	t.Helper()
	var out, errOut syncBuffer
	args = append([]string{"--listen", "127.0.0.1:0"}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, func(string) string { return "" }, &out, &errOut) }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		cancel()
		err := <-done
		t.Fatalf("run(%q) started (then returned %v), want it to refuse", args, err)
		return nil
	}
}

// TestRunAccessControl: tokens from a configuration file (secret_file
// relative to it, secret_env, sha256), anonymous off by default and --demo
// anonymous only without tokens.
func TestRunAccessControl(t *testing.T) {
	dir := t.TempDir()
	const fileSecret, envSecret, hashSecret = "file-token-0123456789abcdef", "env-token-0123456789abcdef", "hash-token-0123456789abcdef"
	writeFile(t, dir, "ci.token", fileSecret+"\n")
	sum := sha256.Sum256([]byte(hashSecret))
	cfg := writeFile(t, dir, "regapi.yaml", `
tokens:
  - name: ci
    secret_file: ci.token
    scopes: [{registry: demo, repositories: ["library/**"], actions: [pull]}]
  - name: dash
    secret_env: DASH_TOKEN
    scopes: [{registry: "*", repositories: ["**"], actions: [pull]}]
  - name: ops
    sha256: "`+hex.EncodeToString(sum[:])+`"
    scopes: [{registry: "*", repositories: ["**"], actions: [admin]}]
cors_origins: ["https://dash.example.com"]
rate_limit: 1000
`)
	env := map[string]string{"DASH_TOKEN": envSecret}
	r := startRun(t, env, "--listen", "127.0.0.1:0", "--demo", "--config", cfg)
	c := &http.Client{Timeout: 30 * time.Second}
	tags := r.base + "/api/v1/repos/demo/library/alpine/-/tags"
	tests := []struct {
		method, url, token string
		want               int
	}{
		{"GET", tags, "", 401},
		{"GET", tags, "wrong-token-0123456789abcdef", 401},
		{"GET", tags, fileSecret, 200},
		{"GET", tags, envSecret, 200},
		{"GET", tags, hashSecret, 200},
		{"GET", r.base + "/api/v1/repos/demo/-/repositories", fileSecret, 200},
		{"DELETE", r.base + "/api/v1/cache", fileSecret, 403},
		{"DELETE", r.base + "/api/v1/cache", envSecret, 403},
		{"DELETE", r.base + "/api/v1/cache", hashSecret, 200},
		{"GET", r.base + "/healthz", "", 200},
		{"GET", r.base + "/metrics", "", 200},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, tt.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.want {
			t.Errorf("%s %s with token %.4s… = %d, want %d", tt.method, tt.url, tt.token, res.StatusCode, tt.want)
		}
		if tt.want == 401 && res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s = 401 without WWW-Authenticate", tt.method, tt.url)
		}
	}

	// CORS from the configuration: a preflight from the dashboard is
	// answered without a token; another origin gets no grant.
	for origin, want := range map[string]string{"https://dash.example.com": "https://dash.example.com", "https://evil.example.com": ""} {
		req, _ := http.NewRequest(http.MethodOptions, tags, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("preflight from %s: Access-Control-Allow-Origin = %q, want %q", origin, got, want)
		}
	}
	if strings.Contains(r.stderr.String(), fileSecret) || strings.Contains(r.stderr.String(), envSecret) {
		t.Errorf("log has a token secret:\n%s", r.stderr)
	}
}

// TestRunAnonymousDefaults: without --demo nothing is anonymous unless
// asked; --demo is anonymous unless tokens are configured or
// --allow-anonymous=false says otherwise.
func TestRunAnonymousDefaults(t *testing.T) {
	up := sharedDemo(t)
	dir := t.TempDir()
	withToken := writeFile(t, dir, "regapi.yaml", `
tokens:
  - name: ci
    secret_env: CI_TOKEN
    scopes: [{registry: "*", repositories: ["**"], actions: [pull]}]
`)
	env := map[string]string{"CI_TOKEN": "ci-token-0123456789abcdef"}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"upstream only", []string{"--upstream", "demo=http://" + up.Host}, 401},
		{"upstream, --allow-anonymous", []string{"--upstream", "demo=http://" + up.Host, "--allow-anonymous"}, 200},
		{"--demo", []string{"--demo"}, 200},
		{"--demo --allow-anonymous=false", []string{"--demo", "--allow-anonymous=false"}, 401},
		{"--demo with tokens", []string{"--demo", "--config", withToken}, 401},
	}
	c := &http.Client{Timeout: 30 * time.Second}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRun(t, env, append([]string{"--listen", "127.0.0.1:0"}, tt.args...)...)
			status, body, _ := get(t, c, http.MethodGet, r.base+"/api/v1/repos/demo/library/alpine/-/tags")
			if status != tt.want {
				t.Errorf("GET tags = %d, want %d; body %s", status, tt.want, body)
			}
			// Push and admin are never anonymous.
			if status, _, _ := get(t, c, http.MethodDelete, r.base+"/api/v1/cache"); status != http.StatusUnauthorized {
				t.Errorf("DELETE /api/v1/cache without a token = %d, want 401", status)
			}
		})
	}
}

// TestRunRateLimit: one caller over --rate-limit gets 429 with
// Retry-After; probes are not counted.
func TestRunRateLimit(t *testing.T) {
	r := startRun(t, nil, "--listen", "127.0.0.1:0", "--demo", "--rate-limit", "3", "--rate-window", "1h")
	c := &http.Client{Timeout: 30 * time.Second}
	for range 5 {
		if status, _, _ := get(t, c, http.MethodGet, r.base+"/healthz"); status != http.StatusOK {
			t.Fatalf("GET /healthz = %d, want 200 (probes are not limited)", status)
		}
	}
	var statuses []int
	var last http.Header
	for range 4 {
		status, _, h := get(t, c, http.MethodGet, r.base+"/api/v1/registries")
		statuses = append(statuses, status)
		last = h
	}
	if want := []int{200, 200, 200, 429}; !slices.Equal(statuses, want) {
		t.Errorf("4 GETs with --rate-limit 3 = %v, want %v", statuses, want)
	}
	if got := last.Get("Retry-After"); got != "3600" {
		t.Errorf("429 Retry-After = %q, want 3600", got)
	}
}

// TestRunHeaderLimit: request headers beyond MaxHeaderBytes are refused
// with 431 before any handler runs.
func TestRunHeaderLimit(t *testing.T) {
	r := startRun(t, nil, "--listen", "127.0.0.1:0", "--demo")
	c := &http.Client{Timeout: 30 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, r.base+"/healthz", nil)
	req.Header.Set("X-Padding", strings.Repeat("x", 2*maxHeaderBytes))
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("GET /healthz with %d header bytes = %d, want 431", 2*maxHeaderBytes, res.StatusCode)
	}
}
