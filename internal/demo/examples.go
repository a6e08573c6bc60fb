package demo

import (
	"fmt"
	"io"
	"strings"
)

// Example is one curl line printed at startup. cmd/server's test requests
// every one of them through regapi, so what is printed keeps working.
type Example struct {
	// What the line shows, printed as a comment above it; empty for a line
	// that continues the one before.
	What string
	// Head sends HEAD (curl -I) instead of GET.
	Head bool
	// Path is appended to the base URL and the API prefix of the demo
	// upstream unless it starts with "/".
	Path string
	// Pipe, when set, is a shell pipe the output goes through.
	Pipe string
}

// Examples covers every endpoint of regapi's API against the seeded
// content.
var Examples = []Example{
	{What: "the configured registries", Path: "/api/v1/registries"},
	{What: "top-level repositories and prefixes", Path: "-/repositories?delimiter=/"},
	{What: "every repository under deckhouse/modules", Path: "deckhouse/modules/-/repositories"},
	{What: "repositories, two per page", Path: "-/repositories?limit=2"},
	{What: "tags, first page of 10", Path: ManyTagsRepo + "/-/tags?limit=10"},
	{What: "tags, the page after v1.0.9", Path: ManyTagsRepo + "/-/tags?limit=10&last=v1.0.9"},
	{What: "a multi-arch index", Path: IndexRepo + "/-/manifests/3.20"},
	{What: "its linux/arm64 image manifest", Path: IndexRepo + "/-/manifests/3.20?platform=linux/arm64"},
	{What: "the manifest bytes as the registry serves them", Path: IndexRepo + "/-/manifests/3.20?raw=true"},
	{What: "does a tag exist (HEAD: 200 or 404)", Head: true, Path: IndexRepo + "/-/manifests/3.20"},
	{What: "a Docker-media-type manifest", Path: DockerRepo + "/-/manifests/latest"},
	{What: "a digest for linux/arm/v7", Path: IndexRepo + "/-/digest/3.20?platform=linux/arm/v7"},
	{What: "an image config, byte-exact", Path: DockerRepo + "/-/config/latest"},
	{What: "the flattened filesystem as tar", Path: IndexRepo + "/-/extract/3.20?platform=linux/arm64", Pipe: "tar -tvf -"},
	{What: "one file out of it", Path: IndexRepo + "/-/extract/3.20?platform=linux/arm/v7", Pipe: "tar -xOf - etc/os-release"},
	{What: "whiteouts applied: no tmp/build.log, only opt/app/config.yaml", Path: WhiteoutRepo + "/-/extract/bookworm", Pipe: "tar -tf -"},
	{What: "a module's version.json", Path: ManyTagsRepo + "/-/extract/v1.2.3", Pipe: "tar -xOf - version.json"},
	{What: "one file straight out of the image, read from the top layer down", Path: ManyTagsRepo + "/-/files/v1.2.3/version.json"},
	{What: "a directory listing inside the image", Path: IndexRepo + "/-/files/3.20/etc/?platform=linux/arm64"},
	{What: "the image table: tag, digest, date, size, platforms", Path: InsightRepo + "/-/images?sort=-created"},
	{What: "the newest version", Path: InsightRepo + "/-/images?sort=-semver&limit=1"},
	{What: "one image, as skopeo inspect shows it", Path: InsightRepo + "/-/images/latest?platform=linux/arm64&tags=true"},
	{What: "its signature and SBOM (OCI referrers)", Path: InsightRepo + "/-/referrers/v2.0.0"},
	{What: "liveness and readiness", Path: "/healthz"},
	{What: "", Path: "/readyz"},
	{What: "the OpenAPI contract", Path: "/openapi.yaml"},
}

// URL is the example's full URL below base, the address regapi listens on,
// with the demo served as upstream.
func (e Example) URL(base, upstream string) string {
	if strings.HasPrefix(e.Path, "/") {
		return base + e.Path
	}
	return base + "/api/v1/repos/" + upstream + "/" + e.Path
}

// Curl is the example as a shell line.
func (e Example) Curl(base, upstream string) string {
	flags := "-s"
	if e.Head {
		flags = "-sI"
	}
	line := fmt.Sprintf("curl %s '%s'", flags, e.URL(base, upstream))
	if e.Pipe != "" {
		line += " | " + e.Pipe
	}
	return line
}

// PrintExamples writes a heading and every Example as a curl line for
// regapi listening at base with the demo served as upstream. It returns the
// first write error.
func PrintExamples(w io.Writer, base, upstream string) error {
	ew := &errWriter{w: w}
	ew.printf("\nDemo registry seeded as upstream %q. Try:\n", upstream)
	for _, e := range Examples {
		if e.What != "" {
			ew.printf("\n  # %s\n", e.What)
		}
		ew.printf("  %s\n", e.Curl(base, upstream))
	}
	ew.printf("\n")
	return ew.err
}

// errWriter keeps the first write error and skips the writes after it.
type errWriter struct {
	w   io.Writer
	err error
}

func (ew *errWriter) printf(format string, args ...any) {
	if ew.err == nil {
		_, ew.err = fmt.Fprintf(ew.w, format, args...)
	}
}
