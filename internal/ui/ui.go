package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is the path the UI is served below.
const Prefix = "/ui/"

// assetsPrefix is where the scripts and the stylesheet are: the only paths
// that are not index.html.
const assetsPrefix = Prefix + "assets/"

//go:embed assets
var assets embed.FS

// contentSecurityPolicy lets the page load its own scripts, styles and
// API answers and nothing else: no inline script or style, no eval, no
// plugin, no frame around it, no <base> that re-points relative URLs.
// Registry content is shown as text, so even markup that slipped into the
// DOM could not run.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler returns the UI's handler for GET and HEAD requests below /ui/
// (and /ui itself, redirected to /ui/). Paths below /ui/assets/ are the
// embedded files, or 404; every other path is index.html, whose scripts
// show the view the path names.
func Handler() http.Handler {
	files := loadAssets()
	index := files[assetsPrefix+"index.html"]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		switch {
		case r.URL.Path == strings.TrimSuffix(Prefix, "/"):
			http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		case strings.HasPrefix(r.URL.Path, assetsPrefix):
			f, ok := files[r.URL.Path]
			if !ok {
				http.Error(w, "no such asset", http.StatusNotFound)
				return
			}
			f.serve(w, r)
		case strings.HasPrefix(r.URL.Path, Prefix):
			index.serve(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// setSecurityHeaders sets the headers every UI response carries.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// asset is one embedded file with what its responses need.
type asset struct {
	name        string
	body        []byte
	contentType string
	etag        string
}

// serve answers with the file; If-None-Match is answered 304, HEAD
// without a body. no-cache: the browser revalidates every time, so a new
// binary's UI is seen at once (the files are not content-addressed).
func (a asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}

// contentTypes are the types of the files the UI is made of; an
// embedded file of another kind is a build mistake (loadAssets panics).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".txt":  "text/plain; charset=utf-8",
}

// loadAssets reads the embedded files once, keyed by the path they are
// served at.
func loadAssets() map[string]asset {
	files := map[string]asset{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			panic("ui: no content type for embedded file " + p)
		}
		sum := sha256.Sum256(body)
		files[Prefix+p] = asset{name: path.Base(p), body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		panic("ui: read embedded assets: " + err.Error())
	}
	return files
}
