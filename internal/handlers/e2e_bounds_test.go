package handlers

import (
	"net/http"
	"strings"
	"testing"

	"github.com/regapi/regapi/internal/registry/registrytest"
)

// hostileCase is one request to a hostile upstream and what it may make
// regapi read from it.
type hostileCase struct {
	name     string
	do       func(t *testing.T) response
	h        *registrytest.Hostile
	maxPages int64 // listing pages
	maxGets  int64 // blob requests
}

// runHostile asserts that each request is answered 502 UPSTREAM_INVALID after a
// bounded read, and that the answer names no address.
func runHostile(t *testing.T, cases []hostileCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pages, gets := tc.h.ListPages.Load(), tc.h.BlobGets.Load()
			res := tc.do(t)
			res.problem(t, http.StatusBadGateway, "UPSTREAM_INVALID")
			if strings.Contains(string(res.Body), "127.0.0.1") {
				t.Errorf("the answer names the upstream's address: %s", res.Body)
			}
			if n := tc.h.ListPages.Load() - pages; n > tc.maxPages {
				t.Errorf("regapi read %d listing pages, want at most %d", n, tc.maxPages)
			}
			if n := tc.h.BlobGets.Load() - gets; n > tc.maxGets {
				t.Errorf("regapi asked for %d blobs, want at most %d", n, tc.maxGets)
			}
		})
	}
}

// TestHostileListingsAndConfigs: the red team's two memory exhaustions,
// by an upstream whose tag list never ends (1000 tags of 7 KB a page, or
// valid tags forever, each page with a fresh cursor) and one whose image
// declares a config of 8,000,000,000 bytes with an endless body. Each
// route that reads them answers 502 UPSTREAM_INVALID at once: the tags of
// 7 KB on their first page, valid tags past 100,000 (101 pages), the
// config before its blob is asked for. Before, they grew regapi by
// gigabytes in seconds.
func TestHostileListingsAndConfigs(t *testing.T) {
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	longTags := &registrytest.Hostile{NameLen: 7000, PerPage: 1000}
	validTags := &registrytest.Hostile{NameLen: 128, PerPage: 1000, ConfigData: cfg, ConfigSize: int64(len(cfg))}
	bigConfig := &registrytest.Hostile{PerPage: 1, Pages: 1, ConfigSize: 8_000_000_000, ConfigBody: -1}
	a := newAPI(t, Config{Upstreams: []Upstream{
		{Name: "longtags", Host: "a.example", Client: clientFor(longTags.Start(t), nil)},
		{Name: "validtags", Host: "b.example", Client: clientFor(validTags.Start(t), nil)},
		{Name: "bigconfig", Host: "c.example", Client: clientFor(bigConfig.Start(t), nil)},
	}})
	get := func(path string) func(t *testing.T) response {
		return func(t *testing.T) response { return a.get(t, path) }
	}
	runHostile(t, []hostileCase{
		{"image table, long tags", get("/api/v1/repos/longtags/app/-/images"), longTags, 1, 0},
		{"image table by date, long tags", get("/api/v1/repos/longtags/app/-/images?sort=created"), longTags, 1, 0},
		{"tags page, long tags", get("/api/v1/repos/longtags/app/-/tags"), longTags, 1, 0},
		{"image table, endless tags", get("/api/v1/repos/validtags/app/-/images"), validTags, 101, 0},
		{"tags of an image, endless tags", get("/api/v1/repos/validtags/app/-/images/v1?tags=true"), validTags, 101, 0},
		{"config, 8 GB declared", get("/api/v1/repos/bigconfig/app/-/config/v1"), bigConfig, 0, 0},
		{"image for a platform, 8 GB config declared", get("/api/v1/repos/bigconfig/app/-/images/v1?platform=linux/amd64"), bigConfig, 0, 0},
	})
}

// TestHostileSourceOfCopyAndSync: a copy with a platform reads the source
// image's config and a sync lists the source's tags; from the hostile
// upstream, through the answer cache as the server runs, both are 502
// UPSTREAM_INVALID after a bounded read, as is the cached config route.
func TestHostileSourceOfCopyAndSync(t *testing.T) {
	h := &registrytest.Hostile{NameLen: 128, PerPage: 1000, ConfigSize: 8_000_000_000, ConfigBody: -1}
	w := newWriteWorld(t, writeOptions{SrcFront: func(*registrytest.Registry) string { return h.Start(t) }})
	post := func(path string, body any) func(t *testing.T) response {
		return func(t *testing.T) response { return w.api.postJSON(t, path, body) }
	}
	runHostile(t, []hostileCase{
		{"copy with a platform", post("/api/v1/copy", copyRequest{Source: "src/app:v1", Destination: "dst/mirror/app:v1", Platform: "linux/amd64"}), h, 0, 0},
		{"sync", post("/api/v1/sync", syncRequest{Source: "src/app", Destination: "dst/mirror/app"}), h, 101, 0},
		{"cached config", func(t *testing.T) response { return w.api.get(t, "/api/v1/repos/src/app/-/config/v1") }, h, 0, 0},
		{"cached image table", func(t *testing.T) response { return w.api.get(t, "/api/v1/repos/src/app/-/images") }, h, 101, 0},
	})
}
