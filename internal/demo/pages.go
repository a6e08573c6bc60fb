package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// paginated puts the distribution spec's pagination in front of
// go-containerregistry's registry, whose listings fall short of it (v0.22.1,
// pkg/registry/manifest.go): the catalog returns repositories in map order,
// ignores "last" and sends no Link header, and the tag list returns every
// tag when "last" is past the end and sends no Link header either. Both
// listings are answered here from the registry's complete, unpaged answer,
// sorted, cut after "last" and to "n", with a Link header to the next page
// the way the CNCF distribution registry does it.
func paginated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isCatalog := r.URL.Path == "/v2/_catalog"
		isTags := strings.HasPrefix(r.URL.Path, "/v2/") && strings.HasSuffix(r.URL.Path, "/tags/list")
		if r.Method != http.MethodGet || !isCatalog && !isTags {
			next.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		n := -1
		if s := q.Get("n"); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v < 0 {
				writeRegistryError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "n must be a non-negative integer")
				return
			}
			n = v
		}
		// The unpaged answer: no query at all (the catalog's implicit cap
		// of 10000 is far above the demo's size).
		inner := r.Clone(r.Context())
		inner.URL.RawQuery = ""
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(rec, inner)
		if rec.status != http.StatusOK {
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.status)
			_, _ = w.Write(rec.body.Bytes()) // a failed write: the client has gone
			return
		}
		var list struct {
			Name         string   `json:"name,omitempty"`
			Tags         []string `json:"tags,omitempty"`
			Repositories []string `json:"repositories,omitempty"`
		}
		if err := json.Unmarshal(rec.body.Bytes(), &list); err != nil {
			writeRegistryError(w, http.StatusInternalServerError, "UNKNOWN", "listing is not JSON")
			return
		}
		items := list.Tags
		if isCatalog {
			items = list.Repositories
		}
		page, more := cut(items, q.Get("last"), n)
		if more {
			next := url.Values{"last": {page[len(page)-1]}, "n": {strconv.Itoa(n)}}
			w.Header().Set("Link", fmt.Sprintf("<%s?%s>; rel=\"next\"", r.URL.Path, next.Encode()))
		}
		var out any
		if isCatalog {
			out = struct {
				Repositories []string `json:"repositories"`
			}{page}
		} else {
			out = struct {
				Name string   `json:"name"`
				Tags []string `json:"tags"`
			}{list.Name, page}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out) // a failed write: the client has gone
	})
}

// cut sorts items and returns those after last, at most n of them (n < 0:
// all), and whether more follow.
func cut(items []string, last string, n int) (page []string, more bool) {
	sort.Strings(items)
	i := sort.Search(len(items), func(i int) bool { return items[i] > last })
	page = items[i:]
	if n >= 0 && n < len(page) {
		return page[:n:n], n > 0
	}
	if page == nil {
		page = []string{}
	}
	return page, false
}

func writeRegistryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}}
	_ = json.NewEncoder(w).Encode(body) // a failed write: the client has gone
}

// recorder keeps a response in memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
