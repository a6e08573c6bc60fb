package demo

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The demo's shape, referenced by the curl lines printed at startup and by
// the tests.
const (
	// ManyTagsRepo has 50 tags (v1.0.0 to v1.4.9), enough to page through.
	ManyTagsRepo = "deckhouse/modules/console"
	// IndexRepo has multi-arch OCI indexes (linux/amd64, linux/arm64,
	// linux/arm/v7).
	IndexRepo = "library/alpine"
	// DockerRepo has images with Docker schema 2 media types.
	DockerRepo = "library/busybox"
	// WhiteoutRepo has an image whose upper layer whites out files and
	// makes a directory opaque.
	WhiteoutRepo = "library/debian"
)

// demoPlatforms are the platforms of library/alpine's index.
var demoPlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
	{OS: "linux", Architecture: "arm", Variant: "v7"},
}

// buildContent returns every demo image and index keyed by "repository:tag".
func buildContent() (map[string]remote.Taggable, error) {
	c := map[string]remote.Taggable{}
	add := func(ref string, spec imageSpec) (v1.Image, error) {
		img, err := spec.build()
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", ref, err)
		}
		c[ref] = img
		return img, nil
	}

	// A multi-arch OCI index with small real files per platform.
	for _, version := range []string{"3.19.1", "3.20.3"} {
		images := map[string]v1.Image{}
		for _, p := range demoPlatforms {
			img, err := alpine(version, p).build()
			if err != nil {
				return nil, fmt.Errorf("build alpine %s %s: %w", version, p, err)
			}
			images[p.String()] = img
		}
		idx := index(false, images, demoPlatforms...)
		c[IndexRepo+":"+version[:4]] = idx
		c[IndexRepo+":"+version] = idx
		if version == "3.20.3" {
			c[IndexRepo+":latest"] = idx
		}
	}

	// A Docker-media-type image (schema 2 manifest, Docker layers and config).
	for _, version := range []string{"1.36.1", "1.37.0"} {
		img, err := add(DockerRepo+":"+version, busybox(version))
		if err != nil {
			return nil, err
		}
		if version == "1.37.0" {
			c[DockerRepo+":latest"] = img
		}
	}

	// An image whose upper layer deletes files (whiteouts) and replaces a
	// directory (opaque whiteout).
	if _, err := add(WhiteoutRepo+":bookworm", debian()); err != nil {
		return nil, err
	}

	// A repository at the root of the registry.
	if _, err := add("hello:latest", imageSpec{
		config: v1.Config{Cmd: []string{"/hello"}},
		layers: [][]file{{exe("hello", "#!/bin/sh\necho 'Hello from the regapi demo'\n")}},
	}); err != nil {
		return nil, err
	}

	// Nested repositories; console has dozens of tags for pagination.
	var console []string
	for minor := 0; minor < 5; minor++ {
		for patch := 0; patch < 10; patch++ {
			console = append(console, fmt.Sprintf("v1.%d.%d", minor, patch))
		}
	}
	modules := map[string][]string{
		"console":      console,
		"prometheus":   {"v2.50.1", "v2.51.2", "v2.52.0", "v2.53.1", "v2.54.1"},
		"cert-manager": {"v1.14.5", "v1.15.3"},
	}
	for module, versions := range modules {
		for _, v := range versions {
			if _, err := add("deckhouse/modules/"+module+":"+v, deckhouseModule(module, v)); err != nil {
				return nil, err
			}
		}
	}
	for _, v := range []string{"v1.66.3", "v1.67.0"} {
		images := map[string]v1.Image{}
		platforms := demoPlatforms[:2]
		for _, p := range platforms {
			img, err := deckhouseBinary("dhctl", v, p).build()
			if err != nil {
				return nil, fmt.Errorf("build dhctl %s: %w", v, err)
			}
			images[p.String()] = img
		}
		c["deckhouse/platform/dhctl:"+v] = index(true, images, platforms...)
		if _, err := add("deckhouse/platform/installer:"+v, deckhouseBinary("installer", v, demoPlatforms[0])); err != nil {
			return nil, err
		}
	}
	for channel, v := range map[string]string{"alpha": "v1.67.0", "beta": "v1.67.0", "stable": "v1.66.3"} {
		if _, err := add("deckhouse/release-channel:"+channel, imageSpec{
			layers: [][]file{{text("version.json", fmt.Sprintf("{\"version\":%q}\n", v))}},
		}); err != nil {
			return nil, err
		}
	}
	if err := addInsightContent(c); err != nil {
		return nil, err
	}
	if err := addHostile(c); err != nil {
		return nil, err
	}
	return c, nil
}

// apkArch is Alpine's name for each demo platform.
var apkArch = map[string]string{"linux/amd64": "x86_64", "linux/arm64": "aarch64", "linux/arm/v7": "armv7"}

func alpine(version string, p v1.Platform) imageSpec {
	return imageSpec{
		platform: p,
		config:   v1.Config{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}},
		layers: [][]file{{
			dir("bin/"),
			exe("bin/busybox", "#!/bin/false\n# regapi demo stand-in for busybox\n"),
			symlink("bin/sh", "/bin/busybox"),
			dir("etc/"),
			text("etc/alpine-release", version+"\n"),
			text("etc/os-release", fmt.Sprintf("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=%s\nPRETTY_NAME=\"Alpine Linux v%s (regapi demo, %s)\"\n", version, version[:4], p)),
			dir("etc/apk/"),
			text("etc/apk/arch", apkArch[p.String()]+"\n"),
		}},
	}
}

func busybox(version string) imageSpec {
	return imageSpec{
		docker: true,
		config: v1.Config{Cmd: []string{"sh"}, Labels: map[string]string{"org.opencontainers.image.version": version}},
		layers: [][]file{{
			dir("bin/"),
			exe("bin/busybox", "#!/bin/false\n# regapi demo stand-in for busybox "+version+"\n"),
			symlink("bin/sh", "busybox"),
			dir("etc/"),
			text("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"),
			text("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
		}},
	}
}

func debian() imageSpec {
	return imageSpec{
		config: v1.Config{Cmd: []string{"bash"}},
		layers: [][]file{{
			dir("etc/"),
			text("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm, regapi demo)\"\nID=debian\nVERSION_ID=\"12\"\n"),
			text("etc/debian_version", "12.7\n"),
			dir("tmp/"),
			text("tmp/build.log", "left over from the build\n"),
			dir("var/"),
			dir("var/cache/"),
			dir("var/cache/apt/"),
			text("var/cache/apt/pkgcache.bin", "cache\n"),
			dir("opt/app/"),
			text("opt/app/old-config.yaml", "version: 1\n"),
			text("opt/app/stale.txt", "removed by the opaque whiteout above\n"),
		}, {
			// The cleanup layer: two whiteouts and an opaque directory.
			whiteout("tmp/build.log"),
			whiteout("var/cache/apt/pkgcache.bin"),
			dir("opt/app/"),
			opaque("opt/app/"),
			text("opt/app/config.yaml", "version: 2\n"),
		}},
	}
}

func deckhouseModule(module, version string) imageSpec {
	return imageSpec{
		config: v1.Config{Labels: map[string]string{"io.deckhouse.module": module}},
		layers: [][]file{{
			text("README.md", "# "+module+"\n\nA regapi demo module.\n"),
			dir("openapi/"),
			text("openapi/config-values.yaml", "type: object\nproperties: {}\n"),
		}, {
			text("version.json", fmt.Sprintf("{\"module\":%q,\"version\":%q}\n", module, version)),
		}},
	}
}

func deckhouseBinary(name, version string, p v1.Platform) imageSpec {
	return imageSpec{
		docker:   true,
		platform: p,
		config:   v1.Config{Entrypoint: []string{"/" + name}},
		layers: [][]file{{
			exe(name, fmt.Sprintf("#!/bin/false\n# regapi demo stand-in for %s %s (%s)\n", name, version, p)),
			text("version.json", fmt.Sprintf("{\"version\":%q}\n", version)),
		}},
	}
}
