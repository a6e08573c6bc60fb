package demo

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testDemo is one seeded demo registry shared by the tests that only read
// from it; TestMain stops it.
var testDemo struct {
	once sync.Once
	d    *Registry
	err  error
}

// sharedDemo returns the shared demo registry, starting it on first use.
func sharedDemo(t *testing.T) *Registry {
	t.Helper()
	testDemo.once.Do(func() { testDemo.d, testDemo.err = Start(context.Background()) })
	if testDemo.err != nil {
		t.Fatalf("Start() error = %v", testDemo.err)
	}
	return testDemo.d
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testDemo.d != nil {
		if err := testDemo.d.Close(); err != nil && code == 0 {
			fmt.Fprintln(os.Stderr, "close the demo registry:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// getList fetches a registry listing and its Link header.
func getList(t *testing.T, url string) (items []string, link string, status int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body struct {
		Repositories []string `json:"repositories"`
		Tags         []string `json:"tags"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("GET %s: decode: %v", url, err)
		}
	}
	return append(body.Repositories, body.Tags...), resp.Header.Get("Link"), resp.StatusCode
}

func TestDemoPagination(t *testing.T) {
	d := sharedDemo(t)
	base := "http://" + d.Host
	tests := []struct {
		path     string
		want     []string
		wantLink string
		status   int
	}{
		{"/v2/_catalog?n=3", []string{"deckhouse/modules/cert-manager", "deckhouse/modules/console", "deckhouse/modules/prometheus"},
			`</v2/_catalog?last=deckhouse%2Fmodules%2Fprometheus&n=3>; rel="next"`, 200},
		{"/v2/_catalog?n=3&last=deckhouse/platform/installer", []string{"deckhouse/release-channel", "hello", "library/alpine"},
			`</v2/_catalog?last=library%2Falpine&n=3>; rel="next"`, 200},
		{"/v2/_catalog?n=3&last=library/alpine", []string{"library/busybox", "library/debian", "shop/web"}, `</v2/_catalog?last=shop%2Fweb&n=3>; rel="next"`, 200},
		{"/v2/_catalog?last=shop/web", []string{HostileRepo}, "", 200},
		{"/v2/_catalog?last=" + HostileRepo, []string{}, "", 200},
		{"/v2/_catalog?n=0", []string{}, "", 200},
		{"/v2/_catalog?n=x", nil, "", 400},
		{"/v2/deckhouse/release-channel/tags/list?n=2", []string{"alpha", "beta"},
			`</v2/deckhouse/release-channel/tags/list?last=beta&n=2>; rel="next"`, 200},
		{"/v2/deckhouse/release-channel/tags/list?n=2&last=beta", []string{"stable"}, "", 200},
		// ggcr alone answers every tag here.
		{"/v2/deckhouse/release-channel/tags/list?last=zzz", []string{}, "", 200},
		{"/v2/no/such/tags/list", nil, "", 404},
	}
	for _, tt := range tests {
		got, link, status := getList(t, base+tt.path)
		if status != tt.status {
			t.Errorf("GET %s status = %d, want %d", tt.path, status, tt.status)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); status == 200 && diff != "" {
			t.Errorf("GET %s items mismatch (-want +got):\n%s", tt.path, diff)
		}
		if link != tt.wantLink {
			t.Errorf("GET %s Link = %q, want %q", tt.path, link, tt.wantLink)
		}
	}
}

func TestDemoContent(t *testing.T) {
	d := sharedDemo(t)
	ref := func(s string) name.Reference {
		t.Helper()
		r, err := name.ParseReference(d.Host+"/"+s, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	repo := ref("deckhouse/modules/console").Context()
	tags, err := remote.List(repo)
	if err != nil {
		t.Fatalf("List(console) error = %v", err)
	}
	if len(tags) < 40 || !slices.Contains(tags, "v1.2.3") {
		t.Errorf("List(console) = %d tags %v, want 40 or more including v1.2.3", len(tags), tags)
	}

	idx, err := remote.Index(ref("library/alpine:3.20"))
	if err != nil {
		t.Fatalf("Index(alpine) error = %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, m := range im.Manifests {
		platforms = append(platforms, m.Platform.String())
		if m.ArtifactType != "" {
			t.Errorf("alpine:3.20 child %s artifactType = %q, want none (as image indexes carry)", m.Platform, m.ArtifactType)
		}
	}
	if want := []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}; !slices.Equal(platforms, want) {
		t.Errorf("alpine:3.20 platforms = %v, want %v", platforms, want)
	}
	arm, err := remote.Image(ref("library/alpine:3.20"), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}))
	if err != nil {
		t.Fatal(err)
	}
	if files := flatten(t, arm); files["etc/apk/arch"] != "armv7\n" {
		t.Errorf("alpine:3.20 linux/arm/v7 etc/apk/arch = %q, want %q", files["etc/apk/arch"], "armv7\n")
	}

	bb, err := remote.Image(ref("library/busybox:latest"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := bb.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.DockerManifestSchema2 || m.Config.MediaType != types.DockerConfigJSON || m.Layers[0].MediaType != types.DockerLayer {
		t.Errorf("busybox media types = %s, %s, %s; want Docker schema 2", m.MediaType, m.Config.MediaType, m.Layers[0].MediaType)
	}

	deb, err := remote.Image(ref("library/debian:bookworm"))
	if err != nil {
		t.Fatal(err)
	}
	files := flatten(t, deb)
	for _, gone := range []string{"tmp/build.log", "var/cache/apt/pkgcache.bin", "opt/app/old-config.yaml", "opt/app/stale.txt"} {
		if _, ok := files[gone]; ok {
			t.Errorf("debian:bookworm flattened has %s, want it whited out", gone)
		}
	}
	if files["opt/app/config.yaml"] != "version: 2\n" || files["etc/debian_version"] != "12.7\n" {
		t.Errorf("debian:bookworm flattened = %v, want opt/app/config.yaml and etc/debian_version kept", files)
	}

	mod, err := remote.Image(ref("deckhouse/modules/console:v1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := flatten(t, mod)["version.json"], `{"module":"console","version":"v1.2.3"}`+"\n"; got != want {
		t.Errorf("console:v1.2.3 version.json = %q, want %q", got, want)
	}
}

func TestDemoIsDeterministic(t *testing.T) {
	// The shared demo was seeded from another buildContent call: the same
	// content must have the same digest there.
	d := sharedDemo(t)
	c, err := buildContent()
	if err != nil {
		t.Fatal(err)
	}
	built, err := c["library/alpine:3.20"].(v1.ImageIndex).Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(d.Host+"/library/alpine:3.20", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	seeded, err := remote.Head(ref)
	if err != nil {
		t.Fatalf("Head(alpine:3.20) error = %v", err)
	}
	if seeded.Digest != built {
		t.Errorf("alpine:3.20 digest = %s seeded, %s built again; want the same", seeded.Digest, built)
	}
}

// flatten returns the regular files of img's flattened filesystem.
func flatten(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }() // read-only; ReadAll reports read errors
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	files, err := tarFiles(b)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// tarFiles reads a whole tar stream and returns its regular files.
func tarFiles(b []byte) (map[string]string, error) {
	files := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			c, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			files[h.Name] = string(c)
		}
	}
}
