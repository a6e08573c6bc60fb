package handlers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/regapi/regapi/internal/cache"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

func init() {
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", decodeNDJSON)
}

// decodeNDJSON checks every line of an NDJSON body against the response
// schema (the schema of one line) and hands the last line on for the
// validator's own check.
func decodeNDJSON(body io.Reader, _ http.Header, schema *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var last any
	n := 0
	for sc.Scan() {
		n++
		var v any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if err := schema.Value.VisitJSON(v); err != nil {
			return nil, fmt.Errorf("line %d %s: %w", n, sc.Bytes(), err)
		}
		last = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("empty NDJSON body")
	}
	return last, nil
}

// writeWorld is regapi serving two distribution registries, "src" and
// "dst", through one cache (so writes must invalidate), uploads spooled to
// a directory of the test's own.
type writeWorld struct {
	api      *apiEnv
	src, dst *registrytest.Registry
	spool    string
	// finished receives the path of every PUT whose handler returned.
	finished chan string
}

// writeOptions adjusts newWriteWorld.
type writeOptions struct {
	// Writes is handlers' write configuration; SpoolDir is always the
	// world's own.
	Writes Writes
	// SrcFront, when set, returns the host the "src" upstream's client
	// goes to instead of the source registry: a fault-injecting proxy in
	// front of it.
	SrcFront func(src *registrytest.Registry) string
	// DstFront is SrcFront for the "dst" upstream.
	DstFront func(dst *registrytest.Registry) string
	// Config is the base configuration (Auth, Logger …).
	Config Config
}

func newWriteWorld(t *testing.T, o writeOptions) *writeWorld {
	t.Helper()
	w := &writeWorld{
		src:      registrytest.StartDistribution(t, nil),
		dst:      registrytest.StartDistribution(t, nil),
		spool:    t.TempDir(),
		finished: make(chan string, 64),
	}
	c, err := cache.New()
	if err != nil {
		t.Fatal(err)
	}
	srcHost := w.src.Host
	if o.SrcFront != nil {
		srcHost = o.SrcFront(w.src)
	}
	dstHost := w.dst.Host
	if o.DstFront != nil {
		dstHost = o.DstFront(w.dst)
	}
	cfg := o.Config
	cfg.Upstreams = []Upstream{
		{Name: "src", Host: w.src.Host, Client: c.Wrap("src", clientFor(srcHost, nil))},
		{Name: "dst", Host: w.dst.Host, Client: c.Wrap("dst", clientFor(dstHost, nil))},
	}
	cfg.Cache = c
	cfg.Writes = o.Writes
	cfg.Writes.SpoolDir = w.spool
	cfg.Middleware = append(cfg.Middleware, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(rw, r)
			if r.Method == http.MethodPut {
				select {
				case w.finished <- r.URL.Path:
				default:
				}
			}
		})
	})
	w.api = newAPI(t, cfg)
	return w
}

// spoolFiles lists what is in the spool directory.
func (w *writeWorld) spoolFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(w.spool)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// assertSpoolEmpty fails the test when a spool file is left.
func (w *writeWorld) assertSpoolEmpty(t *testing.T) {
	t.Helper()
	if left := w.spoolFiles(t); len(left) != 0 {
		t.Errorf("spool directory holds %v, want nothing", left)
	}
}

// writesTo counts the requests that write to a registry: blob uploads and
// manifest PUTs.
func writesTo(r *registrytest.Registry) int {
	return r.CountRequests(http.MethodPut, "/v2/") + r.CountRequests(http.MethodPost, "/v2/") + r.CountRequests(http.MethodPatch, "/v2/")
}

// send is apiEnv.do with a request body; the response is checked against
// the spec the same way.
func (e *apiEnv) send(t *testing.T, method, path, contentType string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.URL+path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	return e.roundTrip(t, req)
}

// sendAs is send with another bearer token ("" for none).
func (e *apiEnv) sendAs(t *testing.T, token, method, path, contentType string, body []byte) response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.roundTrip(t, req)
}

func (e *apiEnv) roundTrip(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := e.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	r := response{Status: res.StatusCode, Header: res.Header, Body: b}
	e.validate(t, req, r)
	return r
}

// postJSON sends v as the JSON body of a POST.
func (e *apiEnv) postJSON(t *testing.T, path string, v any) response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return e.send(t, http.MethodPost, path, "application/json", bytes.NewReader(b))
}

// put uploads body to …/-/images/tag.
func (e *apiEnv) put(t *testing.T, registry, repo, tag string, body []byte) response {
	t.Helper()
	return e.send(t, http.MethodPut, reposPrefix+registry+"/"+repo+"/-/images/"+tag, "application/x-tar", bytes.NewReader(body))
}

// digestOf reads …/-/digest/{ref}[?platform=] through the API.
func (e *apiEnv) digestOf(t *testing.T, registry, repo, ref, platform string) string {
	t.Helper()
	path := reposPrefix + registry + "/" + repo + "/-/digest/" + ref
	if platform != "" {
		path += "?platform=" + platform
	}
	res := e.get(t, path)
	if res.Status != http.StatusOK {
		t.Fatalf("GET %s = %d, want 200; body %s", path, res.Status, res.Body)
	}
	var d struct {
		Digest string `json:"digest"`
	}
	res.json(t, &d)
	return d.Digest
}

// tagsOf lists a repository's tags through the API.
func (e *apiEnv) tagsOf(t *testing.T, registry, repo string) (tags []string, xcache string) {
	t.Helper()
	res := e.get(t, reposPrefix+registry+"/"+repo+"/-/tags?limit=1000")
	if res.Status != http.StatusOK {
		t.Fatalf("GET tags of %s/%s = %d, want 200; body %s", registry, repo, res.Status, res.Body)
	}
	var tr tagsResponse
	res.json(t, &tr)
	return tr.Tags, res.Header.Get("X-Cache")
}
