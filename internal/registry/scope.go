package registry

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// scopedTransport returns an authenticated transport for scope (e.g.
// "repository:org/app:pull" or "registry:catalog:*"), for requests ggcr has
// no API for. The /v2/ challenge is fetched once per shared state and a
// token once per scope; both are cached. A failed handshake is not cached.
func (s *shared) scopedTransport(ctx context.Context, scope string, res authn.Resource) (http.RoundTripper, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt, ok := s.scoped[scope]; ok {
		return rt, nil
	}
	if s.challenge == nil {
		ch, err := transport.Ping(ctx, s.reg, s.rt)
		if err != nil {
			return nil, err
		}
		s.challenge = ch
	}
	auth, err := s.authFor(ctx, res)
	if err != nil {
		return nil, err
	}
	tok := &transport.Token{}
	if strings.EqualFold(s.challenge.Scheme, "bearer") {
		if tok, err = transport.Exchange(ctx, s.reg, auth, s.rt, []string{scope}, s.challenge); err != nil {
			return nil, err
		}
	}
	rt, err := transport.FromToken(s.reg, auth, s.rt, s.challenge, tok)
	if err != nil {
		return nil, err
	}
	s.scoped[scope] = rt
	return rt, nil
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
