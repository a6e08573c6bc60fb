package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// headerXFF is the header trusted proxies append the address they received
// a request from to. It is in canonical form, so indexing http.Header with
// it needs no canonicalization.
const headerXFF = "X-Forwarded-For"

// TrustedProxies are the reverse proxies (ingress controllers, load
// balancers) whose X-Forwarded-For header regapi believes. The zero value
// trusts no one: the TCP peer is the client and headers are ignored.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies reads CIDRs ("10.0.0.0/8", "fd00::/8") and single
// addresses ("10.0.0.7", "::1"), IPv4 or IPv6. An IPv4-mapped IPv6 entry
// ("::ffff:10.0.0.0/104") is taken as the IPv4 range it maps; host bits in
// a CIDR are ignored ("10.1.2.3/8" is 10.0.0.0/8). Empty entries, zones and
// anything else are errors naming the entry.
func ParseTrustedProxies(entries []string) (TrustedProxies, error) {
	var t TrustedProxies
	for i, e := range entries {
		p, err := parseTrusted(strings.TrimSpace(e))
		if err != nil {
			return TrustedProxies{}, fmt.Errorf("trusted proxy %d (%q): %w", i+1, e, err)
		}
		t.prefixes = append(t.prefixes, p)
	}
	return t, nil
}

func parseTrusted(s string) (netip.Prefix, error) {
	const want = "want an IPv4 or IPv6 address or CIDR, e.g. 10.0.0.0/8, 192.168.1.7 or fd00::/8"
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("empty; %s", want)
	}
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, fmt.Errorf("not a CIDR; %s", want)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("not an address; %s", want)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("an IPv4-mapped CIDR needs at least 96 bits; %s", want)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Len is how many ranges are trusted.
func (t TrustedProxies) Len() int { return len(t.prefixes) }

// String lists the trusted ranges, comma-separated, for logs.
func (t TrustedProxies) String() string {
	s := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// trusts reports whether a (unmapped, without zone) is in a trusted range.
func (t TrustedProxies) trusts(a netip.Addr) bool {
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address of the client that sent a request which
// reached regapi from remoteAddr (http.Request.RemoteAddr, "ip:port") with
// the given X-Forwarded-For header lines. The result is unmapped (an
// IPv4-mapped IPv6 address becomes IPv4) and has no zone; it is the zero
// Addr only when remoteAddr is not an address.
//
// The algorithm is the rightmost untrusted address:
//
//   - When the peer (remoteAddr) is not trusted, it is the client and the
//     header is ignored: anyone can write X-Forwarded-For.
//   - Otherwise the header is read from the right, the last line first and
//     each line's comma-separated list from its end: every proxy appends
//     the address it received the request from, so the right end is what
//     the trusted proxies wrote and the left what the client made up. The
//     first address not trusted is the client.
//   - When every address is trusted, the leftmost is the client (a caller
//     inside a trusted range, or a chain of proxies only).
//   - An entry that is not an address (empty, a name, "unknown", garbage)
//     ends the walk, and the last trusted address read (the proxy that
//     wrote or passed on the garbage; the peer when it is the last entry)
//     is the client: what lies left of it cannot be told apart from what
//     a client made up. A trusted proxy never writes garbage right of a
//     client's address, so a client cannot use one to pick an address.
//
// An entry is an address, optionally with a port ("192.0.2.1:4711",
// "[2001:db8::1]:4711") as some load balancers write it. Neither the
// RFC 7239 Forwarded header nor X-Real-IP is read.
func (t TrustedProxies) ClientAddr(remoteAddr string, xff []string) netip.Addr {
	peer := parseHost(remoteAddr)
	if !peer.IsValid() || !t.trusts(peer) {
		return peer
	}
	client := peer
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for {
			entry := line
			comma := strings.LastIndexByte(line, ',')
			if comma >= 0 {
				entry, line = line[comma+1:], line[:comma]
			}
			a := parseEntry(entry)
			if !a.IsValid() {
				return client
			}
			if !t.trusts(a) {
				return a
			}
			client = a
			if comma < 0 {
				break
			}
		}
	}
	return client
}

// parseHost reads RemoteAddr: "ip:port", "[ip]:port" or, from test
// requests and some listeners, a bare address.
func parseHost(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalize(ap.Addr())
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return normalize(a)
	}
	return netip.Addr{}
}

// parseEntry reads one X-Forwarded-For entry: an address, optionally with
// a port, surrounded by optional spaces.
func parseEntry(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return normalize(a)
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return normalize(ap.Addr())
	}
	return netip.Addr{}
}

// normalize makes equal addresses compare equal: an IPv4-mapped IPv6
// address is its IPv4 address, and zones are dropped.
func normalize(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}

// clientKey is the context key of the client address ClientAddresses
// stores.
type clientKey struct{}

// clientInfo is what ClientAddresses stores: the address and its text,
// formatted once for every log line that wants it.
type clientInfo struct {
	addr netip.Addr
	text string
}

// ClientAddresses is a middleware that finds each request's client address
// with t.ClientAddr, for ClientAddr and ClientAddrString to return. It must
// be the outermost layer, before anything that logs or rate-limits. With
// no trusted proxies it is a no-op: the accessors then read RemoteAddr
// themselves, at no cost per request.
func ClientAddresses(t TrustedProxies) func(http.Handler) http.Handler {
	if t.Len() == 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := t.ClientAddr(r.RemoteAddr, r.Header[headerXFF])
			info := &clientInfo{addr: a}
			if a.IsValid() {
				info.text = a.String()
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, info)))
		})
	}
}

// ClientAddr returns the address of the client that sent r: what
// ClientAddresses found, or without it r.RemoteAddr's address (unmapped,
// without zone). The zero Addr means RemoteAddr is not an address.
func ClientAddr(r *http.Request) netip.Addr {
	if info, ok := r.Context().Value(clientKey{}).(*clientInfo); ok {
		return info.addr
	}
	return parseHost(r.RemoteAddr)
}

// ClientAddrString is ClientAddr as text, for logs, without allocating:
// what ClientAddresses formatted, or without it the host part of
// r.RemoteAddr as the server wrote it. It is "" when there is no address.
func ClientAddrString(r *http.Request) string {
	if info, ok := r.Context().Value(clientKey{}).(*clientInfo); ok {
		return info.text
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return ""
	}
	return host
}
