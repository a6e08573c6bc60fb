package auth_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/regapi/regapi/internal/auth"
)

func Example() {
	cfg, err := auth.ParseConfig([]byte(`
allow_anonymous: true
tokens:
  - name: ci
    secret_env: REGAPI_TOKEN_CI
    scopes:
      - registry: internal
        repositories: ["team/**"]
        actions: [push]
`))
	if err != nil {
		panic(err)
	}
	getenv := func(string) string { return "0123456789abcdef0123456789abcdef" }
	a, err := auth.New(cfg, getenv)
	if err != nil {
		panic(err)
	}

	r := httptest.NewRequest("GET", "/api/v1/repos/internal/team/app/-/tags", nil)
	r.Header.Set("Authorization", "Bearer 0123456789abcdef0123456789abcdef")
	p, _ := a.Authenticate(r)
	fmt.Println(p.Name(), p.Can(auth.ActionPush, "internal", "team/app/web"), p.Can(auth.ActionPush, "internal", "other"))

	anon, _ := a.Authenticate(httptest.NewRequest("GET", "/", nil))
	fmt.Println(anon.Name(), anon.Can(auth.ActionPull, "hub", "library/alpine"), anon.Can(auth.ActionPush, "hub", "library/alpine"))
	// Output:
	// ci true false
	// anonymous true false
}
