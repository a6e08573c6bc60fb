package auth

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/cors"
)

// corsExposed are the response headers a dashboard's script may read:
// every header api/openapi.yaml documents that is not CORS-safelisted (a
// handlers test keeps the two in step).
var corsExposed = []string{
	"Link", "ETag", "X-Cache", "Age", "Docker-Content-Digest",
	"X-Request-Id", "Retry-After", "X-Regapi-Platform", "X-Regapi-Resolved-Path",
	"Location", "WWW-Authenticate",
}

// CORSExposedHeaders returns the response headers CORS exposes to scripts
// of the allowed origins.
func CORSExposedHeaders() []string { return slices.Clone(corsExposed) }

// corsMaxAge is how long browsers may cache a preflight answer, in
// seconds; Chromium caps it at 7200, ten minutes keeps config changes
// quick to take effect.
const corsMaxAge = 600

// CORS lets browser pages on the given origins ("https://dash.example.com",
// or with one wildcard, "https://*.example.com") call the API: preflight
// requests are answered, Authorization may be sent, and the headers a
// dashboard needs (Link, ETag, Retry-After, ...) are exposed. Without
// origins it is a no-op, so nothing is shared cross-origin by default.
// With "*" every origin is allowed but without credentials, since browsers
// refuse credentials with a wildcard origin. CORS must wrap the
// authentication middleware so that preflights, which carry no token, are
// answered before it and 401 answers still carry CORS headers.
func CORS(origins []string) func(http.Handler) http.Handler {
	if len(origins) == 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	all := slices.Contains(origins, "*")
	return cors.Handler(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{
			http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
		},
		AllowedHeaders:   []string{"Authorization", "Accept", "Content-Type", "If-None-Match", "X-Request-Id"},
		ExposedHeaders:   corsExposed,
		AllowCredentials: !all,
		MaxAge:           corsMaxAge,
	})
}

// CheckOrigins validates CORS origins from the configuration: each is "*"
// or scheme://host[:port] with at most one "*" in the host and nothing
// after it, since a browser's Origin never has a path and a trailing "/"
// would silently match nothing.
func CheckOrigins(origins []string) error {
	for _, o := range origins {
		if o == "*" {
			continue
		}
		if strings.Count(o, "*") > 1 {
			return fmt.Errorf("cors origin %q: at most one *", o)
		}
		u, err := url.Parse(strings.Replace(o, "*", "wildcard", 1))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("cors origin %q: want scheme://host[:port], e.g. https://dash.example.com", o)
		}
	}
	return nil
}
