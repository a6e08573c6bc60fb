package main

// Stamped at build time by the Dockerfile:
// -ldflags "-X main.version=… -X main.revision=…".
var (
	version  = "dev"
	revision = "unknown"
)
