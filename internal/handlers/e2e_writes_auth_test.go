package handlers

import (
	"net/http"
	"testing"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/registry/registrytest"
	"github.com/regapi/regapi/internal/transfer/transfertest"
)

// The write tests' callers. Anonymous callers may pull everything.
const (
	pusherToken = "pusher-secret-0123456789" // push dst/team/app
	readerToken = "reader-secret-0123456789" // pull everywhere
	mirrorToken = "mirror-secret-0123456789" // pull src/library/**, push dst/mirror/**
)

func writeAuth(t *testing.T) *auth.Authorizer {
	t.Helper()
	scope := func(reg, repos string, a auth.Action) auth.Scope {
		return auth.Scope{Registry: reg, Repositories: []string{repos}, Actions: []auth.Action{a}}
	}
	return newAuth(t, auth.Config{AllowAnonymous: true, Tokens: []auth.Token{
		tokenFor("pusher", pusherToken, scope("dst", "team/app", auth.ActionPush)),
		tokenFor("reader", readerToken, scope("*", "**", auth.ActionPull)),
		tokenFor("mirror", mirrorToken, scope("src", "library/**", auth.ActionPull), scope("dst", "mirror/**", auth.ActionPush)),
	}})
}

// TestWritesAccess: push scope on the destination, pull scope on the
// source, both checked before anything is read from the body's tarball or
// sent upstream; an upload refused is never spooled.
func TestWritesAccess(t *testing.T) {
	w := newWriteWorld(t, writeOptions{Config: Config{Auth: writeAuth(t)}})
	registrytest.PushRandomImage(t, w.src.Host, "library/alpine", "v1")
	registrytest.PushRandomImage(t, w.src.Host, "private/app", "v1")
	tarball := transfertest.OCILayout(t, registrytest.RandomImage(t, 1))
	const (
		upload = "/api/v1/repos/dst/team/app/-/images/v1"
		other  = "/api/v1/repos/dst/team/other/-/images/v1"
	)
	copyOK := `{"source":"src/library/alpine:v1","destination":"dst/mirror/alpine:v1"}`
	copyNoPull := `{"source":"src/private/app:v1","destination":"dst/mirror/app:v1"}`
	copyNoPush := `{"source":"src/library/alpine:v1","destination":"dst/team/alpine:v1"}`
	syncOK := `{"source":"src/library/alpine","destination":"dst/mirror/alpine"}`
	syncNoPush := `{"source":"src/library/alpine","destination":"src/library/copy"}`

	tests := []struct {
		name, token, method, path, body string
		status                          int
		code                            string
	}{
		{"upload anonymous", "", http.MethodPut, upload, "tar", 401, "UNAUTHORIZED"},
		{"upload wrong token", "wrong-secret-0123456789", http.MethodPut, upload, "tar", 401, "UNAUTHORIZED"},
		{"upload with pull only", readerToken, http.MethodPut, upload, "tar", 403, "DENIED"},
		{"upload out of scope", pusherToken, http.MethodPut, other, "tar", 403, "DENIED"},
		{"upload", pusherToken, http.MethodPut, upload, "tar", 201, ""},
		{"copy anonymous", "", http.MethodPost, "/api/v1/copy", copyOK, 401, "UNAUTHORIZED"},
		{"copy with pull only", readerToken, http.MethodPost, "/api/v1/copy", copyOK, 403, "DENIED"},
		{"copy without pull on the source", mirrorToken, http.MethodPost, "/api/v1/copy", copyNoPull, 403, "DENIED"},
		{"copy without push on the destination", mirrorToken, http.MethodPost, "/api/v1/copy", copyNoPush, 403, "DENIED"},
		{"copy", mirrorToken, http.MethodPost, "/api/v1/copy", copyOK, 200, ""},
		{"sync anonymous", "", http.MethodPost, "/api/v1/sync", syncOK, 401, "UNAUTHORIZED"},
		{"sync without push on the destination", mirrorToken, http.MethodPost, "/api/v1/sync", syncNoPush, 403, "DENIED"},
		{"sync", mirrorToken, http.MethodPost, "/api/v1/sync", syncOK, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(w.src.Requests()) + len(w.dst.Requests())
			body, ct := []byte(tt.body), "application/json"
			if tt.body == "tar" {
				body, ct = tarball, "application/x-tar"
			}
			res := w.api.sendAs(t, tt.token, tt.method, tt.path, ct, body)
			if tt.code == "" {
				if res.Status != tt.status {
					t.Fatalf("%s = %d, want %d; body %s", tt.name, res.Status, tt.status, res.Body)
				}
				return
			}
			res.problem(t, tt.status, tt.code)
			if tt.status == http.StatusUnauthorized && res.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if n := len(w.src.Requests()) + len(w.dst.Requests()) - before; n != 0 {
				t.Errorf("a refused request made %d upstream requests, want 0", n)
			}
			w.assertSpoolEmpty(t)
		})
	}
}
