package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/regapi/regapi/internal/registry"
)

// startRegistry runs go-containerregistry's in-memory registry on loopback
// and returns its host and a stop function.
func startRegistry() (string, func()) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	return strings.TrimPrefix(srv.URL, "http://"), srv.Close
}

// seed pushes a random image labelled title to host/repo:tag.
func seed(host, repo, tag, title string) {
	img, err := random.Image(512, 1)
	if err != nil {
		log.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Config.Labels = map[string]string{"org.opencontainers.image.title": title}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		log.Fatal(err)
	}
	ref, _ := name.ParseReference(host+"/"+repo+":"+tag, name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		log.Fatal(err)
	}
}

// The README's Quick Start: build a path with WithSegment, list tags, pull
// an image and read its labels.
func Example_quickStart() {
	host, stop := startRegistry()
	defer stop()
	seed(host, "deckhouse/modules/my-module", "v1.0.0", "my-module")
	ctx := context.Background()

	auth := authn.FromConfig(authn.AuthConfig{
		Username: "myuser",
		Password: "mypassword",
	})
	opts := &registry.Options{
		Auth:     auth,
		Insecure: true, // the example registry speaks plain HTTP
	}
	registryClient := registry.NewClientWithOptions(host, opts)

	moduleClient := registryClient.
		WithSegment("deckhouse").
		WithSegment("modules").
		WithSegment("my-module")

	tags, err := moduleClient.ListTags(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Available tags: %v\n", tags)

	img, err := moduleClient.GetImage(ctx, "v1.0.0")
	if err != nil {
		log.Fatal(err)
	}
	config, err := img.ConfigFile()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Image labels: %v\n", config.Config.Labels)

	err = moduleClient.CheckImageExists(ctx, "v9.9.9")
	fmt.Println("v9.9.9 not found:", errors.Is(err, registry.ErrImageNotFound))
	// Output:
	// Available tags: [v1.0.0]
	// Image labels: map[org.opencontainers.image.title:my-module]
	// v9.9.9 not found: true
}

// mirrorImage is the README's mirror example.
func mirrorImage(ctx context.Context, source, target registry.Client, tag string) error {
	img, err := source.GetImage(ctx, tag)
	if err != nil {
		return fmt.Errorf("pull failed: %w", err)
	}
	if err := target.PushImage(ctx, tag, img); err != nil {
		return fmt.Errorf("push failed: %w", err)
	}
	return nil
}

// The README's mirror example, between two registries.
func Example_mirror() {
	srcHost, stopSrc := startRegistry()
	defer stopSrc()
	dstHost, stopDst := startRegistry()
	defer stopDst()
	seed(srcHost, "org/project", "v1.0.0", "project")
	ctx := context.Background()

	sourceClient := registry.NewClientWithOptions(srcHost, &registry.Options{Insecure: true}).
		WithSegment("org", "project")
	targetClient := registry.NewClientWithOptions(dstHost, &registry.Options{Insecure: true}).
		WithSegment("mirror", "org", "project")

	if err := mirrorImage(ctx, sourceClient, targetClient, "v1.0.0"); err != nil {
		log.Fatal(err)
	}
	src, _ := sourceClient.GetDigest(ctx, "v1.0.0")
	dst, _ := targetClient.GetDigest(ctx, "v1.0.0")
	fmt.Println("mirrored to", strings.TrimPrefix(targetClient.GetRegistry(), dstHost))
	fmt.Println("same digest:", *src == *dst)
	// Output:
	// mirrored to /mirror/org/project
	// same digest: true
}

// syncTags is the README's sync example.
func syncTags(ctx context.Context, source, target registry.Client) error {
	sourceTags, err := source.ListTags(ctx)
	if err != nil {
		return err
	}
	targetTags, err := target.ListTags(ctx)
	if err != nil {
		return err
	}
	targetSet := make(map[string]bool)
	for _, tag := range targetTags {
		targetSet[tag] = true
	}
	for _, tag := range sourceTags {
		if !targetSet[tag] {
			if err := mirrorImage(ctx, source, target, tag); err != nil {
				log.Printf("Failed to mirror %s: %v", tag, err)
				continue
			}
			fmt.Printf("Mirrored: %s\n", tag)
		}
	}
	return nil
}

// The README's sync example: copy the tags the target lacks.
func Example_sync() {
	srcHost, stopSrc := startRegistry()
	defer stopSrc()
	dstHost, stopDst := startRegistry()
	defer stopDst()
	for _, tag := range []string{"v1", "v2", "v3"} {
		seed(srcHost, "app", tag, tag)
	}
	seed(dstHost, "app", "v1", "v1")
	ctx := context.Background()
	opts := &registry.Options{Insecure: true}
	source := registry.NewClientWithOptions(srcHost, opts).WithSegment("app")
	target := registry.NewClientWithOptions(dstHost, opts).WithSegment("app")

	if err := syncTags(ctx, source, target); err != nil {
		log.Fatal(err)
	}
	tags, _ := target.ListTags(ctx)
	sort.Strings(tags)
	fmt.Println("target tags:", tags)
	// Output:
	// Mirrored: v2
	// Mirrored: v3
	// target tags: [v1 v2 v3]
}

// Multi-platform images: pick a platform, or read the index itself.
func ExampleWithPlatform() {
	host, stop := startRegistry()
	defer stop()
	ctx := context.Background()
	c := registry.NewClientWithOptions(host, &registry.Options{Insecure: true}).WithSegment("multi")

	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img, _ := random.Image(256, 1)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		img, _ = mutate.ConfigFile(img, cf)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	if err := c.PushIndex(ctx, "v1", idx); err != nil {
		log.Fatal(err)
	}

	m, _ := c.GetManifest(ctx, "v1")
	fmt.Println("index:", m.GetDescriptor().GetMediaType().IsIndex())
	im, _ := m.GetIndexManifest()
	for _, d := range im.GetManifests() {
		fmt.Println("platform:", d.GetPlatform())
	}
	cfg, _ := c.GetImageConfig(ctx, "v1", registry.WithPlatform{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}})
	fmt.Println("arm64 config:", cfg.Architecture)
	_, err := c.GetImage(ctx, "v1", registry.WithPlatform{Platform: &v1.Platform{OS: "windows", Architecture: "amd64"}})
	fmt.Println("windows:", errors.Is(err, registry.ErrPlatformNotFound))
	// Output:
	// index: true
	// platform: linux/amd64
	// platform: linux/arm64
	// arm64 config: arm64
	// windows: true
}
