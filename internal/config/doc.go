// Package config reads regapi's YAML configuration file and the NAME=URL
// upstream notation shared by the file, the --upstream flag and the
// REGAPI_UPSTREAM variable.
//
// Secrets never appear inline: credentials are read from files or
// environment variables named in the file, kept in Secret values that do not
// print, and no error message in this package quotes a secret. The package
// knows nothing about HTTP serving; cmd/server turns a File into clients.
package config
