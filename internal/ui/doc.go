// Package ui serves regapi's browser UI: a handful of static files (an
// index.html, ES modules, a stylesheet) embedded in the binary, below /ui/.
// Every view of the UI is the same index.html; the scripts route on the
// URL and read everything they show from the API, with the caller's token.
//
// The package knows nothing of registries, the API or access control: it
// serves files with the headers that keep hostile registry content (names,
// labels, file contents) from running in the page, a strict
// Content-Security-Policy first among them.
package ui
