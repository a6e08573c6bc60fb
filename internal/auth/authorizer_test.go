package auth

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func request(header ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, h := range header {
		r.Header.Add("Authorization", h)
	}
	return r
}

func TestAuthenticate(t *testing.T) {
	tests := []struct {
		name      string
		anonymous bool
		header    []string
		want      string // principal name, "" for ErrUnauthenticated
	}{
		{"no header, anonymous off", false, nil, ""},
		{"no header, anonymous on", true, nil, "anonymous"},
		{"empty header is no header", true, []string{""}, "anonymous"},
		{"reader by sha256", false, []string{"Bearer " + readerSecret}, "reader"},
		{"ci by env", false, []string{"Bearer " + ciSecret}, "ci"},
		{"ops by file", false, []string{"Bearer " + opsSecret}, "ops"},
		{"scheme is case-insensitive", false, []string{"bearer " + readerSecret}, "reader"},
		{"extra spaces", false, []string{"Bearer   " + readerSecret}, "reader"},
		{"unknown token, anonymous off", false, []string{"Bearer nope-0123456789abcdef"}, ""},
		{"unknown token, anonymous on", true, []string{"Bearer nope-0123456789abcdef"}, ""},
		{"prefix of a token", true, []string{"Bearer " + readerSecret[:10]}, ""},
		{"token plus suffix", true, []string{"Bearer " + readerSecret + "x"}, ""},
		{"basic scheme", true, []string{"Basic cmVhZGVyOnNlY3JldA=="}, ""},
		{"bearer without token", true, []string{"Bearer"}, ""},
		{"bearer with blank token", true, []string{"Bearer   "}, ""},
		{"token with inner space", true, []string{"Bearer " + readerSecret + " x"}, ""},
		{"two headers", true, []string{"Bearer " + readerSecret, "Bearer " + readerSecret}, ""},
	}
	// Rows with a malformed or wrong credential run with anonymous access
	// on, where falling back to anonymous would be the tempting mistake.
	for _, anonymous := range []bool{false, true} {
		a := newTestAuthorizer(t, anonymous)
		for _, tt := range tests {
			if tt.anonymous != anonymous {
				continue
			}
			p, err := a.Authenticate(request(tt.header...))
			switch {
			case tt.want == "" && !errors.Is(err, ErrUnauthenticated):
				t.Errorf("%s (anonymous=%t): Authenticate = %q, %v, want ErrUnauthenticated", tt.name, anonymous, p.Name(), err)
			case tt.want != "" && (err != nil || p.Name() != tt.want):
				t.Errorf("%s (anonymous=%t): Authenticate = %q, %v, want %q", tt.name, anonymous, p.Name(), err, tt.want)
			}
			if tt.want == "anonymous" && !p.Anonymous() {
				t.Errorf("%s: Anonymous() = false, want true", tt.name)
			}
		}
	}
}

// TestLookupComparesEveryToken observes the comparison hook: whichever
// token is presented (first, last, or none), every configured digest is
// compared, so the time taken does not tell which token matched.
func TestLookupComparesEveryToken(t *testing.T) {
	a := newTestAuthorizer(t, false)
	if got, want := reflect.ValueOf(a.compare).Pointer(), reflect.ValueOf(subtle.ConstantTimeCompare).Pointer(); got != want {
		t.Fatalf("New: compare is not subtle.ConstantTimeCompare")
	}
	calls := 0
	a.compare = func(x, y []byte) int {
		calls++
		return subtle.ConstantTimeCompare(x, y)
	}
	for _, secret := range []string{readerSecret, rootSecret, "unknown-0123456789abcdef"} {
		calls = 0
		_, err := a.Authenticate(request("Bearer " + secret))
		if calls != len(a.tokens) {
			t.Errorf("Authenticate(%.6s…) compared %d tokens, want all %d (err %v)", secret, calls, len(a.tokens), err)
		}
	}
}

func TestParseBearer(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Bearer abc", "abc", true},
		{"BEARER abc", "abc", true},
		{"Bearer  abc ", "abc", true},
		{"Bearer a=b+/c~", "a=b+/c~", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearerabc", "", false},
		{"Basic abc", "", false},
		{"Bearer a b", "", false},
		{"Bearer a\tb", "", false},
		{"Bearer \x00", "", false},
		{"Bearer ü", "", false},
		{" Bearer abc", "", false},
	}
	for _, tt := range tests {
		got, ok := parseBearer(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseBearer(%q) = %q, %t, want %q, %t", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMiddlewareStoresOutcome(t *testing.T) {
	a := newTestAuthorizer(t, false)
	var got Principal
	var gotErr error
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotErr = FromContext(r.Context())
		w.WriteHeader(http.StatusTeapot) // the Middleware itself never answers
	}))
	for _, tt := range []struct {
		header string
		want   string
	}{
		{"Bearer " + ciSecret, "ci"},
		{"", ""},
		{"Bearer wrong-0123456789abcdef", ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, request(tt.header))
		if rec.Code != http.StatusTeapot {
			t.Errorf("Middleware answered %d itself for %q", rec.Code, tt.header)
		}
		if tt.want == "" && !errors.Is(gotErr, ErrUnauthenticated) || tt.want != "" && (gotErr != nil || got.Name() != tt.want) {
			t.Errorf("FromContext after %q = %q, %v, want %q", tt.header, got.Name(), gotErr, tt.want)
		}
	}
}

func TestFromContextWithoutMiddlewareFailsClosed(t *testing.T) {
	if _, err := FromContext(t.Context()); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("FromContext(bare) error = %v, want ErrUnauthenticated", err)
	}
	if err := Authorize(t.Context(), ActionPull, "hub", "library/alpine"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("Authorize(bare) = %v, want ErrUnauthenticated", err)
	}
}

func TestAnonymousScopes(t *testing.T) {
	cfg := Config{AllowAnonymous: true, AnonymousScopes: []Scope{
		{Registry: "hub", Repositories: []string{"library/**"}, Actions: []Action{ActionPull}},
	}}
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(request())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		registry, repo string
		want           bool
	}{
		{"hub", "library/alpine", true},
		{"hub", "team/app", false},
		{"internal", "library/alpine", false},
	} {
		if got := p.Can(ActionPull, tt.registry, tt.repo); got != tt.want {
			t.Errorf("anonymous Can(pull, %s, %s) = %t, want %t", tt.registry, tt.repo, got, tt.want)
		}
	}
	cfg.AnonymousScopes[0].Actions = []Action{ActionPush}
	if _, err := New(cfg, nil); err == nil {
		t.Errorf("New(anonymous push scope) = nil error, want one")
	}
}

// TestAnonymousNeverPushes builds a Principal whose scopes would grant
// admin and checks the anonymous guard alone refuses push and admin.
func TestAnonymousNeverPushes(t *testing.T) {
	s, err := compileScope(Scope{Registry: "*", Repositories: []string{"**"}, Actions: []Action{ActionAdmin}}, false)
	if err != nil {
		t.Fatal(err)
	}
	p := Principal{name: anonymousName, anonymous: true, scopes: []scope{s}}
	for _, a := range []Action{ActionPush, ActionAdmin} {
		if p.Can(a, "hub", "x") || p.Covers(a, "hub", "") || p.MayHaveUnder(a, "hub", "") {
			t.Errorf("anonymous with admin scopes: %s allowed, want refused", a)
		}
		if err := p.Check(a, "hub", "x"); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("anonymous Check(%s) = %v, want ErrUnauthenticated", a, err)
		}
	}
	if !p.Can(ActionPull, "hub", "x") {
		t.Errorf("anonymous Can(pull) = false, want true")
	}
}

func TestZeroPrincipalDeniesEverything(t *testing.T) {
	var p Principal
	if p.Can(ActionPull, "hub", "x") || p.MayHaveUnder(ActionPull, "hub", "") || p.Covers(ActionPull, "", "") {
		t.Errorf("zero Principal allowed something")
	}
	if err := p.Check(ActionPull, "hub", "x"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("zero Principal Check = %v, want ErrUnauthenticated", err)
	}
}

func TestFilter(t *testing.T) {
	a := newTestAuthorizer(t, false)
	p, err := a.Authenticate(request("Bearer " + nestedSecret))
	if err != nil {
		t.Fatal(err)
	}
	repos := []string{"a", "a/b", "a/b/c", "a/x/c/d", "a/b/d", "b/b/c"}
	got := p.Filter(ActionPull, "internal", repos)
	want := []string{"a/b/c", "a/x/c/d"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Filter(pull, internal, %q) = %q, want %q", repos, got, want)
	}
	if got := p.Filter(ActionPull, "hub", repos); len(got) != 0 {
		t.Errorf("Filter(pull, hub, …) = %q, want none", got)
	}
}

func TestCheckErrors(t *testing.T) {
	a := newTestAuthorizer(t, false)
	p, err := a.Authenticate(request("Bearer " + readerSecret))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		p.Check(ActionPush, "hub", "library/alpine"),
		p.CheckUnder(ActionPull, "internal", ""),
		p.CheckCovers(ActionAdmin, "", ""),
	} {
		if !errors.Is(err, ErrDenied) {
			t.Errorf("reader: error %v, want ErrDenied", err)
		}
	}
}

// TestAuthenticateReasons: a 401 says what was wrong with the credential,
// without repeating it.
func TestAuthenticateReasons(t *testing.T) {
	a := newTestAuthorizer(t, false)
	tests := []struct {
		header []string
		want   string
	}{
		{nil, "authentication required"},
		{[]string{"Bearer"}, "the bearer token is empty"},
		{[]string{"bearer   "}, "the bearer token is empty"},
		{[]string{"Bearer not-a-known-token-0123456789"}, "not one regapi knows"},
		{[]string{"Basic dXNlcjpwYXNz"}, "not a well-formed bearer token"},
		{[]string{"Bearer a", "Bearer b"}, "more than one Authorization header"},
	}
	for _, tt := range tests {
		_, err := a.Authenticate(request(tt.header...))
		if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(Reason(err), tt.want) {
			t.Errorf("Authenticate(%q) = %v (reason %q), want ErrUnauthenticated with a reason containing %q", tt.header, err, Reason(err), tt.want)
		}
		if strings.Contains(Reason(err), "0123456789") || strings.Contains(Reason(err), "dXNlcjpwYXNz") {
			t.Errorf("Authenticate(%q): the reason repeats the credential: %q", tt.header, Reason(err))
		}
	}
}
