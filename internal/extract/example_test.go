package extract_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/regapi/regapi/internal/extract"
)

// layer builds an uncompressed layer from name/body pairs.
func layer(files ...string) v1.Layer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		if err := tw.WriteHeader(&tar.Header{Name: files[i], Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[i+1]))}); err != nil {
			log.Fatal(err)
		}
		if _, err := io.WriteString(tw, files[i+1]); err != nil {
			log.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		log.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		log.Fatal(err)
	}
	return l
}

func ExampleFlatten() {
	base := layer("etc/os-release", "ID=base\n", "etc/motd", "hello\n")
	top := layer("etc/os-release", "ID=top\n", "etc/.wh.motd", "")

	var out bytes.Buffer
	if err := extract.Flatten(context.Background(), &out, []v1.Layer{base, top}, extract.WithSubtree("/etc")); err != nil {
		log.Fatal(err)
	}
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		body, _ := io.ReadAll(tr)
		fmt.Printf("%s: %q\n", h.Name, body)
	}
	// Output:
	// etc/os-release: "ID=top\n"
}

func ExampleLookup() {
	base := layer("etc/os-release", "ID=base\n", "app/version.json", `{"v":1}`)
	top := layer("app/version.json", `{"v":2}`)
	layers := []v1.Layer{base, top}

	e, err := extract.Lookup(context.Background(), layers, "/app/version.json")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = e.Close() }() // read-only: nothing to lose
	body, _ := io.ReadAll(e.Body)
	fmt.Println(e.Type, e.Size, string(body))

	dir, err := extract.Lookup(context.Background(), layers, "/")
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range dir.Entries {
		fmt.Println(d.Name, d.Type)
	}
	// Output:
	// file 7 {"v":2}
	// app dir
	// etc dir
}

func ExampleIndex_Lookup() {
	base := layer("etc/os-release", "ID=base\n", "app/version.json", `{"v":1}`)
	top := layer("app/version.json", `{"v":2}`)
	layers := []v1.Layer{base, top}

	// A whole-tree Flatten (an extract, or one to io.Discard) builds it.
	b := extract.NewIndexBuilder(extract.DefaultIndexBytes)
	if err := extract.Flatten(context.Background(), io.Discard, layers, extract.WithIndex(b)); err != nil {
		log.Fatal(err)
	}
	ix, err := b.Index()
	if err != nil {
		log.Fatal(err)
	}
	dir, err := ix.Lookup(context.Background(), layers, "/app")
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range dir.Entries {
		fmt.Println(d.Name, d.Type, d.Size)
	}
	// Output:
	// version.json file 7
}
