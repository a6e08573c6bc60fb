package registrytest

import (
	"context"
	"fmt"
	"path"
	"strings"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	"github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// plantedDriver names the storage of DistributionOptions.EmptyRepositories
// and Tags: in memory, with the repositories and tags laid out before the
// registry starts.
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
	tags, ok := params["tags"].(map[string][]string)
	if !ok && params["tags"] != nil {
		return nil, fmt.Errorf("registrytest: tags parameter of %T, want map[string][]string", params["tags"])
	}
	d := inmemory.New()
	for _, name := range names {
		if err := d.PutContent(ctx, path.Join("/docker/registry/v2/repositories", name, "_manifests", "planted"), nil); err != nil {
			return nil, fmt.Errorf("registrytest: plant %s: %w", name, err)
		}
	}
	// The tags listing walks the directories below _manifests/tags; the
	// link it would resolve a tag with names no manifest here.
	for name, ts := range tags {
		for _, tag := range ts {
			link := path.Join("/docker/registry/v2/repositories", name, "_manifests", "tags", tag, "current", "link")
			if err := d.PutContent(ctx, link, []byte("sha256:"+strings.Repeat("0", 64))); err != nil {
				return nil, fmt.Errorf("registrytest: plant %s:%s: %w", name, tag, err)
			}
		}
	}
	return d, nil
}
