// Package auth decides who a caller is and what it may do: bearer tokens
// defined in the configuration (their secrets read from files, environment
// variables or given as SHA-256 digests, never inline), scopes of
// registry, repository glob patterns and actions, and the anonymous caller.
// It also carries the HTTP hardening middleware that works per caller: a
// rate limit keyed by the authenticated principal or the client address,
// CORS for browser dashboards, and the client address itself
// (ClientAddresses, ClientAddr), which X-Forwarded-For may tell only when
// the peer is a trusted proxy.
//
// Secrets are reduced to SHA-256 digests as soon as they are loaded and are
// compared in constant time; no error or log line of this package contains
// a secret, and a Principal logs as its token's name only.
//
// # Actions
//
// The actions are pull, push and admin, each implying the ones before it:
// a scope granting admin also grants push and pull, one granting push also
// grants pull. Anonymous callers get pull at most.
//
// # Patterns
//
// A scope names a registry (an exact upstream name, or a glob such as "*")
// and repository patterns matched against the whole repository path,
// anchored at both ends. A pattern is a "/"-separated list of components:
//
//   - a component without "*" matches that component exactly;
//   - "*" inside a component matches any run of characters except "/", so
//     "team/*" matches "team/a" but not "team/a/b", and "app-*" matches
//     "app-web";
//   - a component that is exactly "**" matches zero or more whole
//     components, so "team/**" matches "team", "team/a" and "team/a/b",
//     "**/cache" matches "cache" and "x/y/cache", and "**" matches every
//     repository.
//
// "**" inside a longer component ("a**") is rejected when the configuration
// is loaded, as are empty components and characters that cannot occur in
// an OCI repository name.
package auth
