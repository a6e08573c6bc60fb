// Package demo is the sample registry behind regapi's --demo flag:
// go-containerregistry's in-memory registry on a loopback port, seeded with
// images that show every endpoint (a multi-arch index, Docker media types,
// whiteouts, nested repositories with many tags, dated releases with a
// signature and an SBOM, and an image whose content attacks a browser), and
// the curl lines that try them (Examples, PrintExamples).
//
// The content is built, not downloaded, with fixed timestamps, so the same
// build of regapi always seeds the same digests. In front of the registry
// sits a shim that pages the catalog and tag lists the way the distribution
// spec says (see paginated), which go-containerregistry's registry does not.
//
// The package knows go-containerregistry and nothing of regapi's HTTP layer:
// not the handlers, the router or the registry client. The curl lines name
// regapi's public API paths as text, as the README does; cmd/server's tests
// request every one of them through regapi. Everything it holds is in
// memory and gone after Close.
package demo
