package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// canaryForms are the ways a secret could show up: raw, and base64 of it
// and of "user:secret" (basic auth), in the standard and URL alphabets,
// padded or not.
func canaryForms(user string, secrets ...string) []string {
	var forms []string
	for _, s := range secrets {
		forms = append(forms, s)
		for _, raw := range []string{s, user + ":" + s} {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
				forms = append(forms, enc.EncodeToString([]byte(raw)))
			}
		}
	}
	return forms
}

// leaked returns the forms found in text.
func leaked(text string, forms []string) []string {
	var found []string
	for _, f := range forms {
		if strings.Contains(text, f) {
			found = append(found, f)
		}
	}
	return found
}

// TestCanary runs regapi as deployed (configuration file, debug logging,
// metrics on the API address) in front of a distribution registry whose
// htpasswd password is a canary, with caller tokens that are canaries,
// drives every route as every kind of caller, and asserts that no form of
// any canary appears in the logs, a response header or body (error
// bodies, /metrics and /api/v1/registries included).
func TestCanary(t *testing.T) {
	buf := make([]byte, 16)
	if _, err := rand.Read(buf); err != nil {
		t.Fatal(err)
	}
	canary := "cnry" + hex.EncodeToString(buf)
	var (
		upstreamPW = canary + "-upstream"
		wrongPW    = canary + "-wrongpw"
		opsToken   = canary + "-ops-token"
		readToken  = canary + "-reader-token"
		wrongToken = canary + "-not-a-token"
	)
	// Base64 of a longer string need not contain base64 of its prefix:
	// every full secret is checked too.
	forms := canaryForms("robot", canary, upstreamPW, wrongPW, opsToken, readToken, wrongToken)
	if len(leaked("Basic "+base64.StdEncoding.EncodeToString([]byte("robot:"+upstreamPW)), forms)) == 0 {
		t.Fatal("leaked() misses base64 of user:password: the check cannot fail")
	}

	dist := registrytest.StartDistribution(t, &registrytest.DistributionOptions{Users: map[string]string{"robot": upstreamPW}})
	creds := remote.WithAuth(&authn.Basic{Username: "robot", Password: upstreamPW})
	registrytest.PushRandomImage(t, dist.Host, "library/alpine", "latest", creds)
	registrytest.PushRandomImage(t, dist.Host, "team/app", "v1", creds)

	dir := t.TempDir()
	writeFile(t, dir, "upstream.pw", upstreamPW+"\n")
	writeFile(t, dir, "reader.token", readToken+"\n")
	cfg := writeFile(t, dir, "regapi.yaml", fmt.Sprintf(`
log_level: debug
upstreams:
  - {name: dist, url: "http://%s", username: robot, password_file: upstream.pw}
  - {name: wrongpw, url: "http://%s", username: robot, password_env: WRONG_PW}
tokens:
  - name: ops
    secret_env: OPS_TOKEN
    scopes: [{registry: "*", repositories: ["**"], actions: [admin]}]
  - name: reader
    secret_file: reader.token
    scopes: [{registry: dist, repositories: ["library/*"], actions: [pull]}]
`, dist.Host, dist.Host))
	env := map[string]string{"WRONG_PW": wrongPW, "OPS_TOKEN": opsToken}

	var seen strings.Builder
	for _, format := range []string{"json", "text"} {
		r := startRun(t, env, "--listen", "127.0.0.1:0", "--config", cfg, "--log-format", format, "--rate-limit", "10000")
		c := &http.Client{Timeout: 30 * time.Second}
		callers := map[string]string{
			"none":   "",
			"wrong":  "Bearer " + wrongToken,
			"basic":  "Basic " + base64.StdEncoding.EncodeToString([]byte("robot:"+upstreamPW)),
			"reader": "Bearer " + readToken,
			"ops":    "Bearer " + opsToken,
		}
		const alpine = "/api/v1/repos/dist/library/alpine/-/"
		routes := []struct{ method, path string }{
			{"GET", "/api/v1/registries"},
			{"GET", "/api/v1/repos/dist/-/repositories"},
			{"GET", "/api/v1/repos/dist/-/repositories?delimiter=/"},
			{"GET", "/api/v1/repos/dist/team/-/repositories"},
			{"GET", alpine + "tags"},
			{"GET", alpine + "manifests/latest"},
			{"GET", alpine + "manifests/latest?raw=true"},
			{"HEAD", alpine + "manifests/latest"},
			{"GET", alpine + "digest/latest"},
			{"GET", alpine + "config/latest"},
			{"GET", alpine + "extract/latest"},
			{"GET", "/api/v1/repos/dist/team/app/-/tags"},
			{"GET", "/api/v1/repos/dist/no/such/-/tags"},
			{"GET", alpine + "manifests/nope"},
			{"GET", alpine + "manifests/.bad"},
			{"GET", "/api/v1/repos/wrongpw/library/alpine/-/tags"},
			{"GET", "/api/v1/repos/wrongpw/library/alpine/-/manifests/latest"},
			{"GET", "/api/v1/repos/nope/x/-/tags"},
			{"DELETE", "/api/v1/cache?prefix=dist"},
			{"DELETE", "/api/v1/cache"},
			{"POST", alpine + "tags"},
			{"GET", "/nope"},
			{"GET", "/healthz"},
			{"GET", "/readyz"},
			{"GET", "/openapi.yaml"},
		}
		for name, authz := range callers {
			for _, rt := range routes {
				req, err := http.NewRequest(rt.method, r.base+rt.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if authz != "" {
					req.Header.Set("Authorization", authz)
				}
				res, err := c.Do(req)
				if err != nil {
					t.Fatalf("%s %s as %s: %v", rt.method, rt.path, name, err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				fmt.Fprintf(&seen, "%s %s as %s = %d\n%v\n%s\n", rt.method, rt.path, name, res.StatusCode, res.Header, body)
			}
		}
		// Metrics last, after every request left its traces.
		_, metricsBody, metricsHeader := get(t, c, http.MethodGet, r.base+"/metrics")
		fmt.Fprintf(&seen, "GET /metrics\n%v\n%s\n", metricsHeader, metricsBody)
		if _, err := r.stop(t, 30*time.Second); err != nil {
			t.Errorf("run() = %v", err)
		}

		logs := r.stderr.String()
		if !strings.Contains(logs, "DEBUG") || !strings.Contains(logs, "UPSTREAM_DENIED") {
			t.Fatalf("%s logs lack debug lines or the upstream refusal: the check would see nothing\n%s", format, logs)
		}
		if got := leaked(logs, forms); len(got) != 0 {
			t.Errorf("%s logs contain %d forms of a canary, e.g. %q", format, len(got), got[0])
		}
		fmt.Fprintf(&seen, "%s", r.stdout.String())
	}
	out := seen.String()
	if !strings.Contains(out, "UNAUTHORIZED") || !strings.Contains(out, "DENIED") || !strings.Contains(out, "regapi_") {
		t.Fatalf("responses lack 401s, 403s or metrics: the check would see nothing")
	}
	if got := leaked(out, forms); len(got) != 0 {
		i := strings.Index(out, got[0])
		t.Errorf("responses contain %d forms of a canary, e.g. %q in …%s…", len(got), got[0], out[max(0, i-200):min(len(out), i+100)])
	}
}
