package registrytest

import (
	"context"
	"fmt"
	"path"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	"github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// plantedDriver names the storage of DistributionOptions.EmptyRepositories:
// in memory, with the repositories laid out before the registry starts.
const plantedDriver = "registrytest-planted"

// The distribution registry finds storage drivers by name, registered once.
func init() { factory.Register(plantedDriver, plantedFactory{}) }

type plantedFactory struct{}

// Create returns an in-memory driver in which each name of the
// "repositories" parameter is a repository: the catalog lists a directory
// named _manifests under docker/registry/v2/repositories as one, and an
// in-memory directory exists when a file is in it.
func (plantedFactory) Create(ctx context.Context, params map[string]any) (storagedriver.StorageDriver, error) {
	names, ok := params["repositories"].([]string)
	if !ok {
		return nil, fmt.Errorf("registrytest: repositories parameter of %T, want []string", params["repositories"])
	}
	d := inmemory.New()
	for _, name := range names {
		if err := d.PutContent(ctx, path.Join("/docker/registry/v2/repositories", name, "_manifests", "planted"), nil); err != nil {
			return nil, fmt.Errorf("registrytest: plant %s: %w", name, err)
		}
	}
	return d, nil
}
