package handlers_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/regapi/regapi/internal/auth"
	"github.com/regapi/regapi/internal/handlers"
)

// NewServer is an http.Handler: wire it into an http.Server (cmd/server
// does) or, as here, an httptest server. Without an Authorizer every API
// route answers 401; this one lets anonymous callers pull.
func ExampleNewServer() {
	authz, err := auth.New(auth.Config{AllowAnonymous: true}, nil)
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(handlers.NewServer(handlers.Config{
		Upstreams: []handlers.Upstream{},
		Auth:      authz,
	}))
	defer srv.Close()

	res, err := http.Get(srv.URL + "/api/v1/repos/nope/library/alpine/-/tags")
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, res.Header.Get("Content-Type"))
	fmt.Print(string(body))
	// Output:
	// 404 application/problem+json
	// {"type":"urn:regapi:problem:REGISTRY_UNKNOWN","title":"Unknown registry","status":404,"detail":"no registry named \"nope\" is configured","code":"REGISTRY_UNKNOWN"}
}
