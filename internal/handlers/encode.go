package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// encode writes v as JSON with status. Bodies are small (lists, manifests
// and problems), so they are marshalled first and sent with a length.
func encode[T any](w http.ResponseWriter, r *http.Request, status int, v T) {
	body, err := encodeBody(v)
	if err != nil {
		// Only our own response types reach here; a failure is a bug.
		http.Error(w, `{"status":500,"code":"INTERNAL"}`, http.StatusInternalServerError)
		return
	}
	writeBody(w, r, status, body)
}

// writeBody writes body with a Content-Length, skipping it for HEAD.
func writeBody(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// respondJSON answers 200 with v as JSON. etag is the entity tag to send
// (quoted); "" derives one from the body's hash, as list answers have no
// digest of their own. cacheControl is the Cache-Control to send. A matching
// If-None-Match answers 304 instead.
func respondJSON(w http.ResponseWriter, r *http.Request, logger *slog.Logger, v any, etag, cacheControl string) {
	body, err := encodeBody(v)
	if err != nil {
		writeError(w, r, logger, err)
		return
	}
	if etag == "" {
		etag = contentETag(body)
	}
	respondBytes(w, r, "application/json", body, etag, cacheControl)
}

// encodeBody is v as a JSON answer body, newline-terminated. Nothing is
// HTML-escaped: answers are application/json, never HTML, and a next link
// should read "?last=v1&limit=10", not "\u0026".
func encodeBody(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	return b.Bytes(), nil
}

// respondBytes answers 200 with body as contentType, or 304.
func respondBytes(w http.ResponseWriter, r *http.Request, contentType string, body []byte, etag, cacheControl string) {
	if notModified(w, r, etag, cacheControl) {
		return
	}
	w.Header().Set("Content-Type", contentType)
	setCacheStatus(w, r)
	writeBody(w, r, http.StatusOK, body)
}

// respondUpstreamBytes is respondBytes for an upstream's bytes (a raw
// manifest, a config), labelled mediaType by the upstream: a browser must
// never run them as a page of regapi's origin, where the UI keeps a token.
// The label is kept only when it names JSON (else fallback), nothing is
// sniffed, and the bytes run in a sandbox if opened. regapi's own JSON, on
// the hot path, does without the two headers.
func respondUpstreamBytes(w http.ResponseWriter, r *http.Request, mediaType, fallback string, body []byte, etag, cacheControl string) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	respondBytes(w, r, upstreamContentType(mediaType, fallback), body, etag, cacheControl)
}

// jsonMediaType matches the media types of manifests and configs: JSON,
// application/<name>+json, and Docker's signed schema 1
// (application/vnd.docker.distribution.manifest.v1+prettyjws).
var jsonMediaType = regexp.MustCompile(`^application/(?:json|[a-z0-9][a-z0-9.-]*\+(?:json|prettyjws))$`)

// upstreamContentType is the Content-Type for bytes an upstream labelled
// mediaType: the label when it names a JSON document, else fallback. An
// upstream's text/html or image/svg+xml never reaches a browser as such.
func upstreamContentType(mediaType, fallback string) string {
	if jsonMediaType.MatchString(mediaType) {
		return mediaType
	}
	return fallback
}

// contentETag is a strong entity tag from a body's sha256 (128 bits are
// plenty to tell versions of one resource apart).
func contentETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// digestETag is the entity tag of digest-addressed content: the digest.
func digestETag(digest string) string {
	return `"` + digest + `"`
}

// etagMatches reports whether an If-None-Match header value matches etag,
// with the weak comparison RFC 9110 prescribes for If-None-Match.
func etagMatches(header, etag string) bool {
	header = strings.TrimSpace(header)
	if header == "" {
		return false
	}
	if header == "*" {
		return true
	}
	want := trimWeak(etag)
	for len(header) > 0 {
		var tag string
		tag, header = nextETag(header)
		if tag != "" && trimWeak(tag) == want {
			return true
		}
	}
	return false
}

// nextETag splits the first entity tag off a comma-separated list.
func nextETag(s string) (string, string) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
		i++
	}
	s = s[i:]
	start := 0
	if len(s) >= 2 && s[0] == 'W' && s[1] == '/' {
		start = 2
	}
	if start >= len(s) || s[start] != '"' {
		// Not an entity tag: skip to the next comma.
		for i = 0; i < len(s) && s[i] != ','; i++ {
		}
		return "", s[i:]
	}
	for i = start + 1; i < len(s) && s[i] != '"'; i++ {
	}
	if i == len(s) {
		return "", ""
	}
	return s[:i+1], s[i+1:]
}

func trimWeak(tag string) string {
	if len(tag) >= 2 && tag[0] == 'W' && tag[1] == '/' {
		return tag[2:]
	}
	return tag
}
