package handlers

import (
	"html/template"
	"net/http"
	"strings"
)

// indexLink is one entry of the front door.
type indexLink struct {
	Rel         string `json:"rel"`
	Href        string `json:"href"`
	Description string `json:"description"`
}

// indexResponse is the front door as JSON.
type indexResponse struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Links       []indexLink `json:"links"`
}

// frontDoor is what GET / and GET /api/v1 say, whichever form is asked.
func frontDoor(ui bool) indexResponse {
	links := []indexLink{
		{"registries", "/api/v1/registries", "the configured registries; each one's repositories, tags, images and files are below /api/v1/repos/{registry}/"},
		{"openapi", "/openapi.yaml", "the API contract (OpenAPI 3): every route, parameter, answer and problem code"},
		{"health", "/healthz", "liveness (and /readyz, readiness)"},
	}
	if ui {
		links = append([]indexLink{{"ui", "/ui/", "a read-only registry explorer in the browser"}}, links...)
	}
	return indexResponse{
		Name:        "regapi",
		Description: "An HTTP/JSON API in front of container registries: tags, repositories, manifests, configs and image filesystems, served from a cache.",
		Links:       links,
	}
}

// frontDoorPage is the front door for a browser: static text and links,
// no script.
var frontDoorPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>regapi</title></head>
<body>
<h1>regapi</h1>
<p>{{.Description}}</p>
<ul>
{{range .Links}}<li><a href="{{.Href}}">{{.Href}}</a>: {{.Description}}</li>
{{end}}</ul>
<p>Every answer is JSON; try <code>curl -s http://HOST/api/v1/registries</code>.</p>
</body>
</html>
`))

// handleIndex serves GET / and GET /api/v1: what regapi is and where to go
// next, as HTML for a browser and as JSON for everything else.
func handleIndex(ui bool) http.Handler {
	door := frontDoor(ui)
	var page strings.Builder
	if err := frontDoorPage.Execute(&page, door); err != nil {
		panic("handlers: front door page: " + err.Error())
	}
	html := []byte(page.String())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Add("Vary", "Accept")
		if prefersHTML(r.Header.Get("Accept")) {
			h := w.Header()
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			writeBody(w, r, http.StatusOK, html)
			return
		}
		encode(w, r, http.StatusOK, door)
	})
}

// prefersHTML reports whether an Accept header asks for HTML before JSON,
// as browsers' do; curl's */* gets JSON.
func prefersHTML(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "text/html", "application/xhtml+xml":
			return true
		case "application/json", "application/problem+json":
			return false
		}
	}
	return false
}
