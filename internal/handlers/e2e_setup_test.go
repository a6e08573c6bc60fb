package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/regapi/regapi/internal/registry"
)

func init() {
	// The tar stream is binary and HTML pages are text; kin-openapi needs
	// to be told.
	openapi3filter.RegisterBodyDecoder("application/x-tar", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder)
}

// apiEnv is regapi over real HTTP, each response checked against the spec.
type apiEnv struct {
	URL string
	doc *openapi3.T
	c   *http.Client
	// token, when set, is sent as the bearer token of every request that
	// has no Authorization header of its own.
	token string
}

// newAPI starts NewServer(cfg) on loopback. Without cfg.Auth it allows
// anonymous pulls and sends an admin token (adminToken) with every
// request, so that tests of other concerns are not about access control.
func newAPI(t *testing.T, cfg Config) *apiEnv {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var token string
	if cfg.Auth == nil {
		cfg.Auth, token = openAuth(t), adminToken
	}
	srv := httptest.NewServer(NewServer(cfg))
	t.Cleanup(srv.Close)
	return &apiEnv{URL: srv.URL, doc: loadSpec(t), c: srv.Client(), token: token}
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// clientFor is a registry client for an in-process plain-HTTP registry,
// without retries so that faults surface at once.
func clientFor(host string, opts *registry.Options) registry.Client {
	if opts == nil {
		opts = &registry.Options{}
	}
	opts.Insecure = true
	if opts.MaxRetries == 0 {
		opts.MaxRetries = -1
	}
	return registry.NewClientWithOptions(host, opts)
}

// response is what a request got back.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// json decodes the body into v.
func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// problem decodes a problem+json body and checks its status and code.
func (r response) problem(t *testing.T, status int, code string) problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); r.Status != status || ct != "application/problem+json" {
		t.Fatalf("status %d %s, want %d application/problem+json; body %s", r.Status, ct, status, r.Body)
	}
	var p problem
	r.json(t, &p)
	if p.Code != code || p.Status != status {
		t.Fatalf("problem = %+v, want code %s status %d", p, code, status)
	}
	return p
}

// get is do with GET and no headers.
func (e *apiEnv) get(t *testing.T, path string) response {
	t.Helper()
	return e.do(t, http.MethodGet, path, nil)
}

// do sends a request and validates the response against the spec: the
// operation's declared statuses, headers and body schema. Paths outside
// the spec (they do not parse) must answer a valid Problem.
func (e *apiEnv) do(t *testing.T, method, path string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.URL+path, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if _, ok := header["Authorization"]; !ok && e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	res, err := e.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	r := response{Status: res.StatusCode, Header: res.Header, Body: body}
	e.validate(t, req, r)
	return r
}

// validate checks r against the spec operation the request maps to.
func (e *apiEnv) validate(t *testing.T, req *http.Request, r response) {
	t.Helper()
	pattern, params, ok := e.operationOf(req)
	if !ok {
		if r.Status < 400 {
			t.Fatalf("%s %s = %d, but the spec has no such operation", req.Method, req.URL.Path, r.Status)
		}
		e.validateProblem(t, req, r)
		return
	}
	item := e.doc.Paths.Find(pattern)
	route := &routers.Route{Spec: e.doc, Path: pattern, PathItem: item, Method: req.Method, Operation: item.GetOperation(req.Method)}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 r.Status,
		Header:                 r.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(r.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Fatalf("%s %s = %d: response breaks api/openapi.yaml: %v\nbody: %.500s", req.Method, req.URL.Path, r.Status, err, r.Body)
	}
	// Where the spec promises a Problem, check it is one (the validator
	// above accepts any declared media type).
	if resp := route.Operation.Responses.Status(r.Status); resp == nil || resp.Value.Content.Get("application/problem+json") != nil {
		if r.Status >= 400 {
			e.validateProblem(t, req, r)
		}
	}
}

// validateProblem checks a body against the Problem schema.
func (e *apiEnv) validateProblem(t *testing.T, req *http.Request, r response) {
	t.Helper()
	if req.Method == http.MethodHead {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s %s = %d with Content-Type %q, want application/problem+json", req.Method, req.URL.Path, r.Status, ct)
	}
	var v any
	if err := json.NewDecoder(bytes.NewReader(r.Body)).Decode(&v); err != nil {
		t.Fatalf("%s %s: problem body %q: %v", req.Method, req.URL.Path, r.Body, err)
	}
	if err := e.doc.Components.Schemas["Problem"].Value.VisitJSON(v); err != nil {
		t.Fatalf("%s %s: problem breaks the Problem schema: %v\nbody: %s", req.Method, req.URL.Path, err, r.Body)
	}
}

// operationOf maps a request onto a spec path and its parameters, by the
// parser the server uses for repository paths.
func (e *apiEnv) operationOf(req *http.Request) (string, map[string]string, bool) {
	path := req.URL.Path
	rest, isRepo := strings.CutPrefix(path, reposPrefix)
	if !isRepo {
		item := e.doc.Paths.Find(path)
		if item == nil || item.GetOperation(req.Method) == nil {
			return "", nil, false
		}
		return path, map[string]string{}, true
	}
	rr, err := parseRepoPath(rest)
	if err != nil || !rr.Route.allows(req.Method) {
		return "", nil, false
	}
	params := map[string]string{"registry": rr.Registry}
	if rr.Repository != "" {
		params["repository"] = rr.Repository
	}
	switch {
	case rr.Route.hasPath():
		_, after, _ := strings.Cut(rest, "/-/"+rr.Route.Action+"/")
		params["reference"], _, _ = strings.Cut(after, "/")
		params["path"] = strings.TrimPrefix(rr.Path, "/")
	case rr.Route.Reference:
		params["reference"] = rest[strings.LastIndex(rest, "/")+1:]
	}
	return rr.Route.Pattern, params, true
}
