package demo

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPrintExamples(t *testing.T) {
	const base = "http://127.0.0.1:8080"
	var out strings.Builder
	if err := PrintExamples(&out, base, "demo"); err != nil {
		t.Fatalf("PrintExamples() error = %v", err)
	}
	if !strings.HasPrefix(out.String(), "\nDemo registry seeded as upstream \"demo\". Try:\n") {
		t.Errorf("PrintExamples() starts %.60q, want the heading naming upstream \"demo\"", out.String())
	}
	for _, e := range Examples {
		if line := "  " + e.Curl(base, "demo") + "\n"; !strings.Contains(out.String(), line) {
			t.Errorf("PrintExamples() lacks %q", line)
		}
	}
}

func TestExampleCurl(t *testing.T) {
	const base = "http://127.0.0.1:8080"
	tests := []struct {
		e    Example
		want string
	}{
		{Example{Path: "/healthz"}, "curl -s 'http://127.0.0.1:8080/healthz'"},
		{Example{Head: true, Path: "a/b/-/manifests/1"}, "curl -sI 'http://127.0.0.1:8080/api/v1/repos/up/a/b/-/manifests/1'"},
		{Example{Path: "a/-/extract/1", Pipe: "tar -tf -"}, "curl -s 'http://127.0.0.1:8080/api/v1/repos/up/a/-/extract/1' | tar -tf -"},
	}
	for _, tt := range tests {
		if got := tt.e.Curl(base, "up"); got != tt.want {
			t.Errorf("%+v.Curl() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

// failAfter accepts n writes and fails the rest.
type failAfter struct {
	n      int
	writes int
}

var errWrite = errors.New("write failed")

func (f *failAfter) Write(b []byte) (int, error) {
	f.writes++
	if f.writes > f.n {
		return 0, errWrite
	}
	return len(b), nil
}

func TestPrintExamplesReportsTheFirstWriteError(t *testing.T) {
	w := &failAfter{n: 2}
	if err := PrintExamples(w, "http://127.0.0.1:8080", "demo"); !errors.Is(err, errWrite) {
		t.Errorf("PrintExamples() error = %v, want %v", err, errWrite)
	}
	if w.writes != 3 {
		t.Errorf("PrintExamples() wrote %d times, want 3 (it stops at the failed one)", w.writes)
	}
}

func ExampleExample_Curl() {
	e := Example{What: "tags, first page of 10", Path: ManyTagsRepo + "/-/tags?limit=10"}
	fmt.Println(e.Curl("http://127.0.0.1:8080", "demo"))
	// Output: curl -s 'http://127.0.0.1:8080/api/v1/repos/demo/deckhouse/modules/console/-/tags?limit=10'
}
