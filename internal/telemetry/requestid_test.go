package telemetry

import (
	"net/http"
	"strings"
	"testing"
)

func TestAssignRequestID(t *testing.T) {
	m, _, logs := newTestMetrics(t)
	srv := serve(t, newRouter(m))
	c := srv.Client()

	long := strings.Repeat("a", maxRequestIDLen)
	tests := []struct {
		name  string
		given []string // header name and value, or empty
		keep  bool     // the given ID comes back
	}{
		{name: "given uuid", given: []string{HeaderRequestID, "0b5c7e0e-8d3a-4c62-9a1e-2f7c3b1d9e44"}, keep: true},
		{name: "given at the length cap", given: []string{HeaderRequestID, long}, keep: true},
		{name: "given with allowed punctuation", given: []string{HeaderRequestID, "lb:req/42+x=y@z_1.2"}, keep: true},
		{name: "absent"},
		{name: "over the length cap", given: []string{HeaderRequestID, long + "a"}},
		{name: "space", given: []string{HeaderRequestID, "a b"}},
		{name: "quote", given: []string{HeaderRequestID, `a"b`}},
		{name: "non-ascii", given: []string{HeaderRequestID, "é"}},
		{name: "log injection", given: []string{HeaderRequestID, "x\tlevel=ERROR"}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := get(t, c, srv.URL+"/healthz", tt.given...)
			got := resp.Header.Get(HeaderRequestID)
			line := logs.nextMsg(t, "request")
			if line["request_id"] != got {
				t.Errorf("logged request_id = %v, response header = %q; want equal", line["request_id"], got)
			}
			if tt.keep {
				if got != tt.given[1] {
					t.Errorf("%s = %q, want the given %q", HeaderRequestID, got, tt.given[1])
				}
				return
			}
			if len(tt.given) > 0 && got == tt.given[1] {
				t.Errorf("%s = %q, want it replaced", HeaderRequestID, got)
			}
			if len(got) != 26 || !validRequestID(got) {
				t.Errorf("generated %s = %q, want 26 valid characters", HeaderRequestID, got)
			}
			if seen[got] {
				t.Errorf("generated %s = %q twice", HeaderRequestID, got)
			}
			seen[got] = true
		})
	}
}

// The handler sees the same ID in its context and on the request header.
func TestAssignRequestIDContext(t *testing.T) {
	var fromCtx, fromHeader string
	h := AssignRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fromCtx = RequestID(r.Context())
		fromHeader = r.Header.Get(HeaderRequestID)
	}))
	srv := serve(t, h)
	resp, _ := get(t, srv.Client(), srv.URL, HeaderRequestID, "bad id")
	got := resp.Header.Get(HeaderRequestID)
	if got == "" || fromCtx != got || fromHeader != got {
		t.Errorf("response %q, RequestID(ctx) %q, request header %q; want one non-empty value", got, fromCtx, fromHeader)
	}
	if id := RequestID(t.Context()); id != "" {
		t.Errorf("RequestID(background) = %q, want empty", id)
	}
	if id := RequestID(ContextWithRequestID(t.Context(), "job-7")); id != "job-7" {
		t.Errorf("RequestID(ContextWithRequestID(ctx, job-7)) = %q, want job-7", id)
	}
}
