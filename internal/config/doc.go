// Package config reads regapi's YAML configuration file and the NAME=URL
// upstream notation shared by the file, the --upstream flag and the
// REGAPI_UPSTREAM variable.
//
// Secrets never appear inline: credentials are read from files or
// environment variables named in the file, kept in Secret values that do not
// print, and no error message in this package quotes a secret.
//
// The settings table (settings.go) declares every setting once; its rows
// refer to the default constants of the packages that use them
// (internal/handlers, internal/cache, internal/registry), which is why this
// package imports them. It serves nothing itself: cmd/server turns a Config
// into clients and a server.
package config
