package transfer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/transfer"
)

// Spool an upload, check it, and see what it holds. Upload does the same and
// pushes the result.
func ExampleLoad() {
	img, _ := random.Image(1024, 2)
	var body bytes.Buffer
	_ = tarball.Write(name.MustParseReference("example.com/app:v1").(name.Tag), img, &body) // what `docker save` writes

	s, err := transfer.Spool(context.Background(), &body, os.TempDir(), 64<<20)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		if err := s.Close(); err != nil { // removes the spool file
			fmt.Println(err)
		}
	}()

	a, err := transfer.Load(s)
	if err != nil {
		fmt.Println(err) // wraps transfer.ErrInvalidTarball
		return
	}
	got, _ := a.Digest()
	want, _ := img.Digest()
	fmt.Println(a.Format, a.Image != nil, got == want)
	// Output: docker-archive true true
}

// Mirror the release tags of a repository, streaming one JSON line per tag
// and a summary line.
func ExampleSync() {
	ctx := context.Background()
	src := registry.NewClientWithOptions("registry.example.com", nil).WithSegment("org/app")
	dst := registry.NewClientWithOptions("mirror.example.com", nil).WithSegment("org/app")

	enc := json.NewEncoder(os.Stdout)
	sum, err := transfer.Sync(ctx, src, dst, transfer.SyncOptions{
		TagPattern: regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`),
	}, func(e transfer.Event) { _ = enc.Encode(e) })
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	_ = enc.Encode(map[string]transfer.Summary{"summary": sum})
}
