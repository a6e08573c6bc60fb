package registry_test

import (
	"context"
	"testing"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// TestCheckImageExistsPlainSentinel keeps the seed README's comparison true:
// err == ErrImageNotFound for a missing tag and a missing repository.
func TestCheckImageExistsPlainSentinel(t *testing.T) {
	host := registrytest.NewGGCR(t)
	c := registry.NewClientWithOptions(host, &registry.Options{Insecure: true})
	for _, repo := range []string{"nothing/here", "library/missing"} {
		err := c.WithSegment(repo).CheckImageExists(context.Background(), "v1")
		if err != registry.ErrImageNotFound { //nolint:errorlint // the contract is the bare sentinel, unwrapped
			t.Errorf("CheckImageExists(%s:v1) = %v, want exactly ErrImageNotFound", repo, err)
		}
	}
}
