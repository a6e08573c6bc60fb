// Package api holds regapi's HTTP contract, api/openapi.yaml, embedded so
// that the server can serve it and tests can validate responses against it.
package api

import _ "embed"

// Spec is the OpenAPI 3 document describing every route of the HTTP API.
//
//go:embed openapi.yaml
var Spec []byte
