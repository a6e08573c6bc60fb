package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

func TestBasicAuth(t *testing.T) {
	const user, pass = "alice", "s3cret"
	host := registrytest.NewDistribution(t, &registrytest.DistributionOptions{Users: map[string]string{user: pass}})
	good := authn.FromConfig(authn.AuthConfig{Username: user, Password: pass})
	registrytest.PushRandomImage(t, host, "org/app", "v1", remote.WithAuth(good))

	tests := []struct {
		name    string
		opts    registry.Options
		wantErr error
	}{
		{"auth", registry.Options{Auth: good}, nil},
		{"keychain", registry.Options{Keychain: staticKeychain{good}}, nil},
		{"wrong password", registry.Options{Auth: &authn.Basic{Username: user, Password: "nope"}}, registry.ErrAccessDenied},
		{"anonymous", registry.Options{}, registry.ErrAccessDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, host, &tc.opts).WithSegment("org", "app")
			if _, err := c.GetDigest(ctx, "v1"); !errors.Is(err, tc.wantErr) {
				t.Errorf("GetDigest = %v, want %v", err, tc.wantErr)
			}
			if _, err := c.ListTags(ctx); !errors.Is(err, tc.wantErr) {
				t.Errorf("ListTags = %v, want %v", err, tc.wantErr)
			}
			if _, err := c.ListRepositories(ctx); !errors.Is(err, tc.wantErr) { // errors.Is(nil, nil) is true
				t.Errorf("ListRepositories = %v, want %v", err, tc.wantErr)
			}
			err := c.PushImage(ctx, "pushed", registrytest.RandomImage(t, 1))
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("PushImage = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }

func TestTLS(t *testing.T) {
	reg := registrytest.StartDistribution(t, &registrytest.DistributionOptions{TLS: true})
	// Push over TLS with ggcr directly, trusting the test server.
	registrytest.Push(t, reg.Host+"/org/app:v1", registrytest.RandomImage(t, 1), remote.WithTransport(reg.Server.Client().Transport))

	tests := []struct {
		name    string
		opts    registry.Options
		wantErr string
	}{
		{"skip verify", registry.Options{TLSSkipVerify: true}, ""},
		{"CA", registry.Options{CA: reg.CAPEM}, ""},
		{"untrusted", registry.Options{}, "certificate"},
		// Insecure means a plain-HTTP registry: no HTTPS is tried, so an
		// untrusted certificate is never accepted by way of it either.
		{"untrusted even with Insecure", registry.Options{Insecure: true}, "plain-HTTP registry"},
		{"bad CA", registry.Options{CA: []byte("not pem")}, "no PEM certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := registry.NewClientWithOptions(reg.Host, &tc.opts).WithSegment("org/app")
			_, err := c.GetDigest(ctx, "v1")
			if tc.wantErr == "" && err != nil {
				t.Errorf("GetDigest = %v, want success", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("GetDigest = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestInsecure(t *testing.T) {
	reg := registrytest.StartDistribution(t, nil)
	registrytest.PushRandomImage(t, reg.Host, "org/app", "v1")
	reg.ResetRequests()

	plain := registry.NewClientWithOptions(reg.Host, &registry.Options{}).WithSegment("org/app")
	if _, err := plain.GetDigest(ctx, "v1"); err == nil || !strings.Contains(err.Error(), "Insecure") {
		t.Errorf("GetDigest over plain HTTP without Insecure = %v, want a refusal naming Options.Insecure", err)
	}
	if n := reg.CountRequests("", "/v2/org"); n != 0 {
		t.Errorf("refused client reached the registry %d times", n)
	}
	insecure := registry.NewClientWithOptions(reg.Host, &registry.Options{Insecure: true}).WithSegment("org/app")
	if _, err := insecure.GetDigest(ctx, "v1"); err != nil {
		t.Errorf("GetDigest with Insecure = %v, want success", err)
	}
}

// TestCancelledContext: a cancelled context stops a call before traffic.
func TestCancelledContext(t *testing.T) {
	reg := registrytest.StartGGCR(t, false)
	c := newClient(t, reg.Host, nil).WithSegment("app")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.GetDigest(cctx, "v1"); !errors.Is(err, context.Canceled) {
		t.Errorf("GetDigest(cancelled) = %v, want context.Canceled", err)
	}
}
