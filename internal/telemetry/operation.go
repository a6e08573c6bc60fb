package telemetry

import (
	"net/http"
	"strings"
)

// Operation label values of the upstream metrics.
const (
	OpPing      = "ping"      // GET /v2/
	OpCatalog   = "catalog"   // /v2/_catalog
	OpTags      = "tags"      // /v2/<name>/tags/list
	OpManifest  = "manifest"  // /v2/<name>/manifests/<reference>
	OpBlob      = "blob"      // /v2/<name>/blobs/<digest>
	OpUpload    = "upload"    // /v2/<name>/blobs/uploads/[<uuid>]
	OpReferrers = "referrers" // /v2/<name>/referrers/<digest>
	OpToken     = "token"     // a token realm (auth.docker.io/token, gcr.io/v2/token, ...)
	OpStorage   = "storage"   // outside /v2/: a blob redirected to object storage
	OpOther     = "other"     // any other /v2/ URL
)

// Operation names the distribution-API operation of an upstream request from
// the shape of its URL. The repository name, which may contain any of the
// keywords as a component, is never part of the result: the keywords are
// matched from the end of the path, where the spec puts them.
func Operation(req *http.Request) string {
	p := req.URL.Path
	if isTokenRequest(req) {
		return OpToken
	}
	if p == "/v2" || p == "/v2/" {
		return OpPing
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return OpStorage
	}
	if rest == "_catalog" {
		return OpCatalog
	}
	// Keep a trailing empty segment: "/blobs/uploads/" starts an upload.
	seg := strings.Split(rest, "/")
	n := len(seg)
	// Every operation below needs at least one name component before it.
	switch {
	case n >= 3 && seg[n-2] == "tags" && seg[n-1] == "list":
		return OpTags
	case n >= 3 && seg[n-2] == "manifests":
		return OpManifest
	case n >= 3 && seg[n-2] == "blobs" && seg[n-1] == "uploads":
		return OpUpload
	case n >= 4 && seg[n-3] == "blobs" && seg[n-2] == "uploads":
		return OpUpload
	case n >= 3 && seg[n-2] == "blobs":
		return OpBlob
	case n >= 3 && seg[n-2] == "referrers":
		return OpReferrers
	}
	return OpOther
}

// isTokenRequest recognises a request to a token realm. Realms live on any
// path (/token, /v2/token on gcr.io, /v2/auth on quay.io, /jwt/auth on
// GitLab, /service/token on Harbor), but all take "scope" or "service" in
// the query (GET) or a form (POST, OAuth2); the distribution API uses
// neither parameter.
func isTokenRequest(req *http.Request) bool {
	switch req.URL.Path {
	case "/v2/token", "/v2/auth":
		return true
	}
	if req.URL.RawQuery != "" {
		// Parsed only when there is a query: most requests have none.
		if q := req.URL.Query(); q.Has("scope") || q.Has("service") {
			return true
		}
	}
	return req.Method == http.MethodPost &&
		strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") &&
		!strings.HasPrefix(req.URL.Path, "/v2/")
}
