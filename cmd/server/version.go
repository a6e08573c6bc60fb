package main

import "runtime/debug"

// Stamped at build time by the Dockerfile:
// -ldflags "-X main.version=… -X main.revision=…".
var (
	version  = "dev"
	revision = "unknown"
)

// buildRevision is the stamped revision or, for a binary built from a
// checkout without stamping (go build, go run), the VCS revision Go
// recorded in it.
func buildRevision() string {
	if revision != "unknown" {
		return revision
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return revision
}
