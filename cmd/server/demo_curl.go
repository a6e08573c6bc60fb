package main

import (
	"fmt"
	"io"
	"strings"
)

// demoExample is one curl line printed at startup. The test requests every
// one of them, so what is printed keeps working.
type demoExample struct {
	what string
	// head sends HEAD (curl -I) instead of GET.
	head bool
	// path is appended to the base URL and the API prefix of the demo
	// upstream unless it starts with "/".
	path string
	// pipe, when set, is a shell pipe the output goes through.
	pipe string
}

// demoExamples covers every endpoint against the seeded content.
var demoExamples = []demoExample{
	{what: "the configured registries", path: "/api/v1/registries"},
	{what: "top-level repositories and prefixes", path: "-/repositories?delimiter=/"},
	{what: "every repository under deckhouse/modules", path: "deckhouse/modules/-/repositories"},
	{what: "repositories, two per page", path: "-/repositories?limit=2"},
	{what: "tags, first page of 10", path: demoManyTagsRepo + "/-/tags?limit=10"},
	{what: "tags, the page after v1.0.9", path: demoManyTagsRepo + "/-/tags?limit=10&last=v1.0.9"},
	{what: "a multi-arch index", path: demoIndexRepo + "/-/manifests/3.20"},
	{what: "its linux/arm64 image manifest", path: demoIndexRepo + "/-/manifests/3.20?platform=linux/arm64"},
	{what: "the manifest bytes as the registry serves them", path: demoIndexRepo + "/-/manifests/3.20?raw=true"},
	{what: "does a tag exist (HEAD: 200 or 404)", head: true, path: demoIndexRepo + "/-/manifests/3.20"},
	{what: "a Docker-media-type manifest", path: demoDockerRepo + "/-/manifests/latest"},
	{what: "a digest for linux/arm/v7", path: demoIndexRepo + "/-/digest/3.20?platform=linux/arm/v7"},
	{what: "an image config, byte-exact", path: demoDockerRepo + "/-/config/latest"},
	{what: "the flattened filesystem as tar", path: demoIndexRepo + "/-/extract/3.20?platform=linux/arm64", pipe: "tar -tvf -"},
	{what: "one file out of it", path: demoIndexRepo + "/-/extract/3.20?platform=linux/arm/v7", pipe: "tar -xOf - etc/os-release"},
	{what: "whiteouts applied: no tmp/build.log, only opt/app/config.yaml", path: demoWhiteoutRepo + "/-/extract/bookworm", pipe: "tar -tf -"},
	{what: "a module's version.json", path: demoManyTagsRepo + "/-/extract/v1.2.3", pipe: "tar -xOf - version.json"},
	{what: "one file straight out of the image, read from the top layer down", path: demoManyTagsRepo + "/-/files/v1.2.3/version.json"},
	{what: "a directory listing inside the image", path: demoIndexRepo + "/-/files/3.20/etc/?platform=linux/arm64"},
	{what: "the image table: tag, digest, date, size, platforms", path: demoInsightRepo + "/-/images?sort=-created"},
	{what: "the newest version", path: demoInsightRepo + "/-/images?sort=-semver&limit=1"},
	{what: "one image, as skopeo inspect shows it", path: demoInsightRepo + "/-/images/latest?platform=linux/arm64&tags=true"},
	{what: "its signature and SBOM (OCI referrers)", path: demoInsightRepo + "/-/referrers/v2.0.0"},
	{what: "liveness and readiness", path: "/healthz"},
	{what: "", path: "/readyz"},
	{what: "the OpenAPI contract", path: "/openapi.yaml"},
}

// url is the example's full URL below base.
func (e demoExample) url(base string) string {
	if strings.HasPrefix(e.path, "/") {
		return base + e.path
	}
	return base + "/api/v1/repos/" + demoUpstream + "/" + e.path
}

// curl is the example as a shell line.
func (e demoExample) curl(base string) string {
	flags := "-s"
	if e.head {
		flags = "-sI"
	}
	line := fmt.Sprintf("curl %s '%s'", flags, e.url(base))
	if e.pipe != "" {
		line += " | " + e.pipe
	}
	return line
}

// printDemo prints the curl lines for the demo started at base. They are a
// convenience (the README has them too), so a failed write is ignored.
func printDemo(w io.Writer, base string) {
	_, _ = fmt.Fprintf(w, "\nDemo registry seeded as upstream %q. Try:\n", demoUpstream)
	for _, e := range demoExamples {
		if e.what != "" {
			_, _ = fmt.Fprintf(w, "\n  # %s\n", e.what)
		}
		_, _ = fmt.Fprintf(w, "  %s\n", e.curl(base))
	}
	_, _ = fmt.Fprintln(w)
}
