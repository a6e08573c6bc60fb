package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func mustTrust(t testing.TB, entries ...string) TrustedProxies {
	t.Helper()
	tp, err := ParseTrustedProxies(entries)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func TestParseTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string // String(), or the error's substring after "ERR "
	}{
		{nil, ""},
		{[]string{"127.0.0.1"}, "127.0.0.1/32"},
		{[]string{" 10.1.2.3/8 ", "::1", "fd00::/8"}, "10.0.0.0/8,::1/128,fd00::/8"},
		{[]string{"::ffff:10.0.0.0/104"}, "10.0.0.0/8"},
		{[]string{"::ffff:127.0.0.1"}, "127.0.0.1/32"},
		{[]string{"0.0.0.0/0", "::/0"}, "0.0.0.0/0,::/0"},
		{[]string{""}, `ERR trusted proxy 1 (""): empty`},
		{[]string{"10.0.0.0/8", "10.0.0.0/33"}, `ERR trusted proxy 2 ("10.0.0.0/33"): not a CIDR`},
		{[]string{"ingress.local"}, `ERR trusted proxy 1 ("ingress.local"): not an address`},
		{[]string{"10.0.0.1:80"}, "ERR not an address"},
		{[]string{"fe80::1%eth0"}, "ERR not an address"},
		{[]string{"::ffff:0.0.0.0/8"}, "ERR IPv4-mapped CIDR needs at least 96 bits"},
		{[]string{"010.0.0.1"}, "ERR not an address"},
	} {
		tp, err := ParseTrustedProxies(tc.in)
		if want, isErr := strings.CutPrefix(tc.want, "ERR "); isErr {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("ParseTrustedProxies(%q) = %v, %v; want an error containing %q", tc.in, tp, err, want)
			}
			continue
		}
		if err != nil || tp.String() != tc.want || tp.Len() != len(tc.in) {
			t.Errorf("ParseTrustedProxies(%q) = %q (%d), %v; want %q", tc.in, tp.String(), tp.Len(), err, tc.want)
		}
	}
}

func TestClientAddr(t *testing.T) {
	// The trusted proxies: the ingress on loopback, an internal load
	// balancer range and an IPv6 one.
	trusted := mustTrust(t, "127.0.0.1", "127.0.1.0/24", "::1", "fd00::/16")
	for _, tc := range []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		// An untrusted peer is the client, whatever it claims.
		{"untrusted peer, no header", "127.0.0.2:4711", nil, "127.0.0.2"},
		{"untrusted peer spoofs", "127.0.0.2:4711", []string{"203.0.113.9"}, "127.0.0.2"},
		{"untrusted peer spoofs a trusted address", "127.0.0.2:4711", []string{"127.0.0.1"}, "127.0.0.2"},
		{"untrusted IPv6 peer spoofs", "[2001:db8::2]:4711", []string{"203.0.113.9, 127.0.0.1"}, "2001:db8::2"},
		// A trusted peer's header is read from the right.
		{"trusted peer, no header", "127.0.0.1:4711", nil, "127.0.0.1"},
		{"trusted peer, one hop", "127.0.0.1:4711", []string{"203.0.113.9"}, "203.0.113.9"},
		{"chain: client spoofed left, rightmost untrusted wins", "127.0.0.1:4711", []string{"198.51.100.1, 203.0.113.9, 127.0.1.5"}, "203.0.113.9"},
		{"chain without spaces", "127.0.0.1:1", []string{"198.51.100.1,203.0.113.9,127.0.1.5,127.0.1.6"}, "203.0.113.9"},
		{"client claims a trusted address left of its own", "127.0.0.1:1", []string{"127.0.1.9, 203.0.113.9"}, "203.0.113.9"},
		{"all trusted: leftmost", "127.0.0.1:1", []string{"127.0.1.7, 127.0.1.8"}, "127.0.1.7"},
		{"all trusted over lines: leftmost", "127.0.0.1:1", []string{"127.0.1.7", "127.0.1.8"}, "127.0.1.7"},
		// Several header lines are one list, the last line rightmost.
		{"multiple lines", "127.0.0.1:1", []string{"198.51.100.1", "203.0.113.9, 127.0.1.5", "127.0.1.6"}, "203.0.113.9"},
		{"multiple lines, client in the last", "127.0.0.1:1", []string{"198.51.100.1, 127.0.1.5", "203.0.113.9"}, "203.0.113.9"},
		// IPv6, both as peer and in the header, and mixed.
		{"IPv6 trusted peer", "[::1]:4711", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv6 chain", "[::1]:4711", []string{"2001:db8::7, fd00::1, fd00::2"}, "2001:db8::7"},
		{"IPv6 peer, IPv4 client", "[::1]:4711", []string{"203.0.113.9"}, "203.0.113.9"},
		{"IPv4-mapped peer is the IPv4 address", "[::ffff:127.0.0.1]:4711", []string{"203.0.113.9"}, "203.0.113.9"},
		{"IPv4-mapped entry is trusted as IPv4", "127.0.0.1:1", []string{"203.0.113.9, ::ffff:127.0.1.5"}, "203.0.113.9"},
		{"IPv4-mapped client is unmapped", "127.0.0.1:1", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"peer zone dropped", "[fe80::1%eth0]:1", []string{"203.0.113.9"}, "fe80::1"},
		// Ports: on RemoteAddr always, in entries as some balancers write them.
		{"entry with port", "127.0.0.1:1", []string{"203.0.113.9:5555"}, "203.0.113.9"},
		{"IPv6 entry with port", "127.0.0.1:1", []string{"[2001:db8::7]:5555, 127.0.1.5:80"}, "2001:db8::7"},
		{"RemoteAddr without port", "127.0.0.1", []string{"203.0.113.9"}, "203.0.113.9"},
		// Garbage ends the walk at the last trusted address read.
		{"garbage only", "127.0.0.1:1", []string{"garbage"}, "127.0.0.1"},
		{"garbage after a trusted hop", "127.0.0.1:1", []string{"203.0.113.9, garbage, 127.0.1.5"}, "127.0.1.5"},
		{"garbage left of the client is never read", "127.0.0.1:1", []string{"garbage, 203.0.113.9"}, "203.0.113.9"},
		{"unknown", "127.0.0.1:1", []string{"unknown"}, "127.0.0.1"},
		{"empty header line", "127.0.0.1:1", []string{""}, "127.0.0.1"},
		{"empty entry", "127.0.0.1:1", []string{"203.0.113.9,,127.0.1.5"}, "127.0.1.5"},
		{"trailing comma", "127.0.0.1:1", []string{"203.0.113.9,"}, "127.0.0.1"},
		{"leading comma (nginx appending to an empty header)", "127.0.0.1:1", []string{", 203.0.113.9"}, "203.0.113.9"},
		{"empty line between", "127.0.0.1:1", []string{"198.51.100.1", "", "127.0.1.5"}, "127.0.1.5"},
		{"zone in entry", "127.0.0.1:1", []string{"fe80::1%eth0"}, "127.0.0.1"},
		{"brackets without port", "127.0.0.1:1", []string{"[2001:db8::7]"}, "127.0.0.1"},
		{"leading zeros", "127.0.0.1:1", []string{"203.000.113.9"}, "127.0.0.1"},
		{"name", "127.0.0.1:1", []string{"client.example.com"}, "127.0.0.1"},
		{"RFC 7239 syntax is not XFF", "127.0.0.1:1", []string{"for=203.0.113.9"}, "127.0.0.1"},
		{"tabs and spaces", "127.0.0.1:1", []string{"\t203.0.113.9 ,\t127.0.1.5 "}, "203.0.113.9"},
		// A RemoteAddr that is no address: no address, header ignored.
		{"RemoteAddr not an address", "pipe", []string{"203.0.113.9"}, "invalid IP"},
		{"RemoteAddr empty", "", []string{"203.0.113.9"}, "invalid IP"},
	} {
		if got := trusted.ClientAddr(tc.remote, tc.xff).String(); got != tc.want {
			t.Errorf("%s: ClientAddr(%q, %q) = %s, want %s", tc.name, tc.remote, tc.xff, got, tc.want)
		}
	}
}

func TestClientAddrTrustsNoOneByDefault(t *testing.T) {
	var none TrustedProxies
	for _, remote := range []string{"127.0.0.1:1", "[::1]:1"} {
		want := netip.MustParseAddrPort(remote).Addr()
		if got := none.ClientAddr(remote, []string{"203.0.113.9"}); got != want {
			t.Errorf("no trusted proxies: ClientAddr(%q, spoofed) = %s, want the peer %s", remote, got, want)
		}
	}
}

func TestClientAddressesMiddleware(t *testing.T) {
	var gotAddr netip.Addr
	var gotText string
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAddr, gotText = ClientAddr(r), ClientAddrString(r)
	})
	serve := func(mw func(http.Handler) http.Handler, remote string, xff ...string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = remote
		for _, v := range xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		gotAddr, gotText = netip.Addr{}, "unset"
		mw(record).ServeHTTP(httptest.NewRecorder(), req)
	}
	with := ClientAddresses(mustTrust(t, "127.0.0.1"))
	without := ClientAddresses(TrustedProxies{})
	for _, tc := range []struct {
		name   string
		mw     func(http.Handler) http.Handler
		remote string
		xff    []string
		want   string
	}{
		{"trusted peer, two lines", with, "127.0.0.1:4711", []string{"198.51.100.1", "203.0.113.9"}, "203.0.113.9"},
		{"untrusted peer", with, "127.0.0.2:4711", []string{"203.0.113.9"}, "127.0.0.2"},
		{"no proxies trusted", without, "127.0.0.1:4711", []string{"203.0.113.9"}, "127.0.0.1"},
		{"no proxies, IPv6", without, "[::1]:4711", nil, "::1"},
	} {
		serve(tc.mw, tc.remote, tc.xff...)
		if gotAddr.String() != tc.want || gotText != tc.want {
			t.Errorf("%s: ClientAddr = %s, ClientAddrString = %q; want %s", tc.name, gotAddr, gotText, tc.want)
		}
	}
	// No address: the text is empty, not "invalid IP".
	for _, mw := range []func(http.Handler) http.Handler{with, without} {
		serve(mw, "pipe")
		if gotAddr.IsValid() || gotText != "" {
			t.Errorf("RemoteAddr %q: ClientAddr = %s, ClientAddrString = %q; want zero and empty", "pipe", gotAddr, gotText)
		}
	}
}

func TestClientAddrStringAllocations(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "127.0.0.1:4711"
	if n := testing.AllocsPerRun(100, func() { _ = ClientAddrString(req); _ = ClientAddr(req) }); n != 0 {
		t.Errorf("without ClientAddresses: %v allocations per request, want 0", n)
	}
	tp := mustTrust(t, "127.0.0.1", "127.0.1.0/24")
	xff := []string{"198.51.100.1, 203.0.113.9, 127.0.1.5", "127.0.1.6"}
	if n := testing.AllocsPerRun(100, func() { _ = tp.ClientAddr("127.0.0.1:4711", xff) }); n != 0 {
		t.Errorf("ClientAddr: %v allocations, want 0", n)
	}
}

// TestRateLimitBehindProxy: with ClientAddresses outermost, anonymous
// callers behind a trusted proxy get a budget each, and a caller that is
// not a trusted proxy keeps its own whatever X-Forwarded-For it sends.
func TestRateLimitBehindProxy(t *testing.T) {
	a := newTestAuthorizer(t, true)
	h := ClientAddresses(mustTrust(t, "127.0.0.1"))(a.Middleware(RateLimit(1, time.Hour)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))))
	status := func(remote, xff string) int {
		req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil)
		req.RemoteAddr = remote
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for i, s := range []struct {
		remote, xff string
		want        int
	}{
		{"127.0.0.1:1", "203.0.113.1", 200},
		{"127.0.0.1:2", "203.0.113.1", 429}, // the same client via the proxy
		{"127.0.0.1:3", "203.0.113.2", 200}, // another client: its own budget
		{"127.0.0.1:4", "", 200},            // the proxy itself
		{"127.0.0.2:1", "", 200},            // a direct caller
		{"127.0.0.2:2", "203.0.113.3", 429}, // ... cannot pick a new budget
		{"127.0.0.2:3", "127.0.0.1", 429},   // ... nor claim the proxy's
		{"[::1]:1", "", 200},                // IPv6 by /64
		{"[::1]:2", "", 429},
	} {
		if got := status(s.remote, s.xff); got != s.want {
			t.Errorf("step %d: %s with X-Forwarded-For %q: status %d, want %d", i, s.remote, s.xff, got, s.want)
		}
	}
}
