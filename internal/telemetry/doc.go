// Package telemetry is regapi's observability: request IDs, Prometheus
// metrics for the HTTP server, the upstream registries, streamed bodies and
// the write routes (synced tags, uploads), one JSON access log line per
// request through log/slog, and the handlers of the separate metrics
// listener (/metrics, optional pprof).
//
// Every metric lives on a prometheus.Registerer passed in, never the global
// registry. Label values are bounded: the route label is chi's route pattern
// (which a handler behind a wildcard may replace with a pattern of its
// own), never a raw path, repository or tag, upstream operations are
// derived from the shape of a /v2/ URL, never from the repository name, and
// write outcomes are fixed sets that map anything unexpected to one of
// their values.
//
// The package knows chi only to read the matched route pattern,
// internal/cache only to read a request's cache outcome, and internal/auth
// only to read a request's client address.
package telemetry
