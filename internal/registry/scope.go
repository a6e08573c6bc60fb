package registry

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// maxScopes bounds the cache of listing transports; past it the cache starts
// over (a later listing just redoes its token exchange).
const maxScopes = 1024

// scopeEntry is one cached listing transport; its mutex makes concurrent
// first listings of one scope share a single token exchange.
type scopeEntry struct {
	mu sync.Mutex
	rt http.RoundTripper
}

// scopedTransport returns an authenticated transport for scope (e.g.
// "repository:org/app:pull" or "registry:catalog:*") for the requests ggcr
// has no API for, and the registry's /v2/ challenge. The challenge is fetched
// once per shared state and a token once per scope; failures are not cached.
func (s *shared) scopedTransport(ctx context.Context, scope string, res authn.Resource) (http.RoundTripper, *transport.Challenge, error) {
	s.mu.Lock()
	e := s.scoped[scope]
	if e == nil {
		if len(s.scoped) >= maxScopes {
			s.scoped = map[string]*scopeEntry{}
		}
		e = &scopeEntry{}
		s.scoped[scope] = e
	}
	s.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	ch, err := s.ping(ctx)
	if err != nil {
		return nil, nil, err
	}
	if e.rt != nil {
		return e.rt, ch, nil
	}
	auth, err := s.authFor(ctx, res)
	if err != nil {
		return nil, nil, err
	}
	tok := &transport.Token{}
	if strings.EqualFold(ch.Scheme, "bearer") {
		if tok, err = transport.Exchange(ctx, s.reg, auth, s.rt, []string{scope}, ch); err != nil {
			return nil, nil, err
		}
	}
	rt, err := transport.FromToken(s.reg, auth, s.rt, ch, tok)
	if err != nil {
		return nil, nil, err
	}
	e.rt = rt
	return rt, ch, nil
}

// ping returns the registry's /v2/ challenge, fetching it on first use.
func (s *shared) ping(ctx context.Context) (*transport.Challenge, error) {
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	if s.challenge != nil {
		return s.challenge, nil
	}
	ch, err := transport.Ping(ctx, s.reg, s.rt)
	if err != nil {
		return nil, err
	}
	s.challenge = ch
	return ch, nil
}

// authFor resolves the authenticator for res from Options.
func (s *shared) authFor(ctx context.Context, res authn.Resource) (authn.Authenticator, error) {
	switch {
	case s.opts.Auth != nil:
		return s.opts.Auth, nil
	case s.opts.Keychain != nil:
		return authn.Resolve(ctx, s.opts.Keychain, res)
	default:
		return authn.Anonymous, nil
	}
}
