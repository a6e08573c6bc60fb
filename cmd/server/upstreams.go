package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/regapi/regapi/internal/config"
	"github.com/regapi/regapi/internal/handlers"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/telemetry"
)

// demoUpstream is the name the demo registry is served under.
const demoUpstream = "demo"

// newUpstream makes the registry client for one configured upstream.
func newUpstream(u config.Upstream, t config.Timeouts, logger *slog.Logger, metrics *telemetry.Metrics) handlers.Upstream {
	opts := &registry.Options{
		Insecure:              u.Insecure,
		TLSSkipVerify:         u.TLSSkipVerify,
		CA:                    u.CA,
		RedirectHosts:         u.RedirectHosts,
		Timeout:               time.Duration(t.Upstream),
		ResponseHeaderTimeout: time.Duration(t.UpstreamResponseHeader),
		Logger:                logger.With("upstream", u.Name),
		UserAgent:             "regapi/" + version,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
			return telemetry.UpstreamTransport(rt, u.Name, metrics)
		},
	}
	switch {
	case u.Token != "":
		opts.Auth = authn.FromConfig(authn.AuthConfig{RegistryToken: u.Token.Reveal()})
	case u.Username != "":
		opts.Auth = &authn.Basic{Username: u.Username, Password: u.Password.Reveal()}
	}
	return handlers.Upstream{
		Name:   u.Name,
		Host:   u.Host,
		Client: registry.NewClientWithOptions(u.Host, opts),
	}
}
