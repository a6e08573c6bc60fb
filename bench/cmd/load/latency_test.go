package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestSideOrders(t *testing.T) {
	if got, want := sideOrders(2), [][]int{{0, 1}, {1, 0}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("sideOrders(2) = %v, want %v", got, want)
	}
	orders := sideOrders(3)
	if len(orders) != 6 {
		t.Fatalf("sideOrders(3) = %v, want all 6 orders", orders)
	}
	var pos [3][3]int   // pos[side][position]
	var after [3][3]int // after[side][predecessor]
	for _, o := range orders {
		for k, s := range o {
			pos[s][k]++
			if k > 0 {
				after[s][o[k-1]]++
			}
		}
	}
	for s := range 3 {
		for k := range 3 {
			if pos[s][k] != 2 {
				t.Errorf("side %d is at position %d in %d of %v, want 2", s, k, pos[s][k], orders)
			}
			if k != s && after[s][k] != 2 {
				t.Errorf("side %d follows side %d in %d of %v, want 2", s, k, after[s][k], orders)
			}
		}
	}
}

// latencyServer answers GET /SIDE/TAG with 200 (or 404 for SIDE "missing")
// and records each request as "SIDE TAG ACCEPT" in order.
func latencyServer(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		side, tag, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		mu.Lock()
		seen = append(seen, side+" "+tag+" "+r.Header.Get("Accept"))
		mu.Unlock()
		if side == "missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("{}"))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// outputKeys returns the keys of key=value lines, checking each value is a
// number.
func outputKeys(t *testing.T, out string) []string {
	t.Helper()
	var keys []string
	for line := range strings.Lines(out) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || !regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`).MatchString(v) {
			t.Errorf("output line %q, want key=number", line)
		}
		keys = append(keys, k)
	}
	return keys
}

func TestLatencyTwoSides(t *testing.T) {
	srv, seen := latencyServer(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"latency", "-prefix", "cold_", "-from", "1", "-to", "4",
		"-a", srv.URL + "/a/{tag}", "-b", srv.URL + "/b/{tag}", "-hb", "Accept: m"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cold_n", "cold_a_p50_ms", "cold_a_p90_ms", "cold_b_p50_ms", "cold_b_p90_ms"}
	if got := outputKeys(t, out.String()); !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	if !strings.HasPrefix(out.String(), "cold_n=4\n") {
		t.Errorf("output %q, want cold_n=4 first", out.String())
	}
	wantSeen := []string{"b t001 m", "a t001 ", "a t002 ", "b t002 m", "b t003 m", "a t003 ", "a t004 ", "b t004 m"}
	if got := seen(); !slices.Equal(got, wantSeen) {
		t.Errorf("requests %q, want %q", got, wantSeen)
	}
}

func TestLatencyThreeSides(t *testing.T) {
	srv, seen := latencyServer(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"latency", "-from", "0", "-to", "11",
		"-a", srv.URL + "/a/{tag}", "-ha", "Accept: x",
		"-b", srv.URL + "/b/{tag}", "-hb", "Accept: m",
		"-c", srv.URL + "/c/{tag}", "-hc", "Accept: m"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"n", "a_p50_ms", "a_p90_ms", "b_p50_ms", "b_p90_ms", "c_p50_ms", "c_p90_ms"}
	if got := outputKeys(t, out.String()); !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	if !strings.HasPrefix(out.String(), "n=12\n") {
		t.Errorf("output %q, want n=12 first", out.String())
	}
	got := seen()
	if len(got) != 36 {
		t.Fatalf("%d requests, want 12 tags x 3 sides: %q", len(got), got)
	}
	accept := map[string]string{"a": "x", "b": "m", "c": "m"}
	first := map[string]int{}
	for i := range 12 {
		turn := got[3*i : 3*i+3]
		var sides []string
		for _, r := range turn {
			f := strings.Fields(r)
			if len(f) != 3 || f[1] != fmt.Sprintf("t%03d", i) || accept[f[0]] != f[2] {
				t.Errorf("tag %d: request %q, want SIDE t%03d with the side's Accept", i, r, i)
				continue
			}
			sides = append(sides, f[0])
		}
		if slices.Sort(sides); !slices.Equal(sides, []string{"a", "b", "c"}) {
			t.Errorf("tag %d: requests %q, want each side once", i, turn)
		}
		first[strings.Fields(turn[0])[0]]++
	}
	for _, s := range []string{"a", "b", "c"} {
		if first[s] != 4 {
			t.Errorf("side %s went first for %d of 12 tags, want 4 (%q)", s, first[s], got)
		}
	}
}

func TestLatencyFailsOnAnError(t *testing.T) {
	srv, _ := latencyServer(t)
	for _, args := range [][]string{
		{"-a", srv.URL + "/a/{tag}", "-b", srv.URL + "/b/{tag}", "-c", srv.URL + "/missing/{tag}"},
		{"-a", srv.URL + "/a/{tag}", "-b", srv.URL + "/b/{tag}", "-c", "http://localhost:1/{tag}"},
		{"-a", srv.URL + "/a/{tag}", "-b", srv.URL + "/b/{tag}", "-hc", "Accept: m"},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), append([]string{"latency", "-from", "1", "-to", "3"}, args...), &out); err == nil {
			t.Errorf("latency %q = nil (output %q), want an error", args, out.String())
		}
	}
}
