package handlers

import "net/http"

// The API's logical routes below /api/v1/repos/. chi cannot split a path at
// "/-/" with its patterns, so the router has a single wildcard route
// (/api/v1/repos/*) and parseRepoPath picks one of these entries. The same
// table feeds the test that compares the router with api/openapi.yaml.
//
// Metrics: once parsed, the request's chi route pattern (the last element of
// chi.RouteContext(ctx).RoutePatterns) is replaced with the entry's Pattern,
// so middleware that reads chi.RouteContext(r.Context()).RoutePattern()
// after the handler ran sees e.g. "/api/v1/repos/{registry}/{repository}/-/tags",
// never a raw path. A path that does not parse keeps "/api/v1/repos/*".
type repoRoute struct {
	// Action is the path segment after "/-/".
	Action string
	// Pattern is the route as api/openapi.yaml names it.
	Pattern string
	// Methods are the HTTP methods served.
	Methods []string
	// Repository says whether a repository path precedes "/-/".
	Repository bool
	// Reference says whether a {reference} segment follows the action.
	Reference bool
}

const (
	actionRepositories = "repositories"
	actionTags         = "tags"
	actionManifests    = "manifests"
	actionDigest       = "digest"
	actionConfig       = "config"
	actionExtract      = "extract"
	actionFiles        = "files"
	actionImages       = "images"
	actionReferrers    = "referrers"
)

// reposPrefix is where the repository routes start.
const reposPrefix = "/api/v1/repos/"

var repoRoutes = []repoRoute{
	{actionRepositories, "/api/v1/repos/{registry}/-/repositories", []string{http.MethodGet}, false, false},
	{actionRepositories, "/api/v1/repos/{registry}/{repository}/-/repositories", []string{http.MethodGet}, true, false},
	{actionTags, "/api/v1/repos/{registry}/{repository}/-/tags", []string{http.MethodGet}, true, false},
	{actionManifests, "/api/v1/repos/{registry}/{repository}/-/manifests/{reference}", []string{http.MethodGet, http.MethodHead}, true, true},
	{actionDigest, "/api/v1/repos/{registry}/{repository}/-/digest/{reference}", []string{http.MethodGet}, true, true},
	{actionConfig, "/api/v1/repos/{registry}/{repository}/-/config/{reference}", []string{http.MethodGet}, true, true},
	{actionExtract, "/api/v1/repos/{registry}/{repository}/-/extract/{reference}", []string{http.MethodGet}, true, true},
	{actionFiles, "/api/v1/repos/{registry}/{repository}/-/files/{reference}/{path}", []string{http.MethodGet}, true, true},
	{actionImages, "/api/v1/repos/{registry}/{repository}/-/images", []string{http.MethodGet}, true, false},
	{actionImages, "/api/v1/repos/{registry}/{repository}/-/images/{reference}", []string{http.MethodGet, http.MethodPut}, true, true},
	{actionReferrers, "/api/v1/repos/{registry}/{repository}/-/referrers/{reference}", []string{http.MethodGet}, true, true},
}

// findRepoRoute returns the entry for action with or without a repository
// path, or nil. An action served both as a collection and per reference
// (images) is told apart by reference, whether anything follows the action;
// for the others reference only decides the error parseRepoPath answers.
func findRepoRoute(action string, repository, reference bool) *repoRoute {
	var found *repoRoute
	for i := range repoRoutes {
		rt := &repoRoutes[i]
		if rt.Action != action || rt.Repository != repository {
			continue
		}
		if rt.Reference == reference {
			return rt
		}
		found = rt
	}
	return found
}

// hasPath says whether a path inside the image follows the reference.
func (rt *repoRoute) hasPath() bool {
	return rt.Action == actionFiles
}

// allows reports whether the route serves method.
func (rt *repoRoute) allows(method string) bool {
	for _, m := range rt.Methods {
		if m == method {
			return true
		}
	}
	return false
}
