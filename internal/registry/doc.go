// Package registry is regapi's client for OCI and Docker registries, built on
// go-containerregistry. A Client is scoped to a registry host plus a
// repository path that grows with WithSegment; every call takes a context and
// returns errors that match the sentinels in errors.go with errors.Is.
//
// # Options
//
// regapi has one options style per kind of thing, and this package holds
// two of the three:
//
//   - How a client or component is built. The registry client takes an
//     Options struct, NewClientWithOptions(host, &Options{…}), the seed's
//     contract. regapi's own packages take functional options, as
//     go-containerregistry's remote.Option: type Option func(*options) error,
//     a makeOptions that sets every default before applying them, and a
//     doc comment on each With… that ends with its default (cache.New,
//     layercache.New, telemetry.NewMetrics, and extract's operations).
//     Required arguments stay positional: layercache.New(dir, maxBytes, …).
//   - A call's options on the registry client. Each is a small exported
//     named type whose value is the setting and which implements the option
//     interface of every call it applies to: WithPlatform{Platform: p},
//     WithManifest{Manifest: m}, WithTagsLimit(50), WithTagsLast("v1"),
//     WithReposLimit(100), WithReposLast("org/app"). A new one is a type in
//     options.go with an apply method per interface.
//   - Settings that are data rather than tuning, filled field by field from
//     the configuration or a request: plain structs. cmd/server fills
//     handlers.Config (the routes' settings) and auth.Config; a handler fills
//     transfer.SyncOptions and transfer.UploadOptions.
//
// The package knows go-containerregistry and net/http as a client; nothing
// about HTTP serving.
package registry
