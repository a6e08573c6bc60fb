// Package redact removes secrets from text before it reaches a log line or
// an error: URL userinfo, URL queries and fragments (token realms carry
// scopes, signed blob redirects carry credentials), and the quoted values
// of a configuration decoder's errors. It is the one copy of these rules;
// every package that writes such text calls it.
//
// It knows nothing of regapi and imports the standard library only, so any
// package may use it.
package redact
