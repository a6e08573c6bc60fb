package registrytest_test

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/regapi/regapi/internal/registry/registrytest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, registrytest.LeakOptions()...) }

func TestRegistries(t *testing.T) {
	tests := []struct {
		name string
		host func(t *testing.T) string
	}{
		{"distribution", func(t *testing.T) string { return registrytest.NewDistribution(t, nil) }},
		{"ggcr", func(t *testing.T) string { return registrytest.NewGGCR(t) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.host(t)
			img := registrytest.PushRandomImage(t, host, "org/app", "v1")
			idx := registrytest.PushRandomIndex(t, host, "org/app", "multi")
			for tag, want := range map[string]interface{ Digest() (v1.Hash, error) }{"v1": img, "multi": idx} {
				ref, _ := name.ParseReference(host+"/org/app:"+tag, name.Insecure)
				d, err := remote.Head(ref)
				if err != nil {
					t.Fatalf("Head(%s) = %v", tag, err)
				}
				w, _ := want.Digest()
				if d.Digest != w {
					t.Errorf("Head(%s).Digest = %s, want %s", tag, d.Digest, w)
				}
			}
		})
	}
}

func TestDistributionAuth(t *testing.T) {
	host := registrytest.NewDistribution(t, &registrytest.DistributionOptions{Users: map[string]string{"alice": "s3cret"}})
	ref, _ := name.ParseReference(host+"/a:b", name.Insecure)
	img := registrytest.RandomImage(t, 1)
	if err := remote.Write(ref, img); err == nil {
		t.Fatal("anonymous push succeeded, want 401")
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"})); err != nil {
		t.Fatalf("authenticated push: %v", err)
	}
}
