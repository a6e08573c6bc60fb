package handlers

import (
	"net/http"
	"strconv"

	"github.com/regapi/regapi/internal/cache"
)

// Cache-Control values. Digest-addressed answers never change. Tag-addressed
// answers and lists change when someone pushes; 30 s matches the cache's
// default TTL for tags, so a client holds an answer no longer than regapi
// itself would, and revalidating after that costs a 304 from memory.
const (
	cacheControlImmutable = "max-age=31536000, immutable"
	cacheControlShort     = "max-age=30"
	cacheControlNone      = "no-store"
)

// cacheControlFor picks the Cache-Control of an answer about rr.
func cacheControlFor(rr repoRequest) string {
	if rr.Digest {
		return cacheControlImmutable
	}
	return cacheControlShort
}

// withOutcome gives every request a cache.Outcome the cache reports into,
// unless an outer layer (the telemetry middleware) already did.
func withOutcome(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cache.OutcomeFrom(r.Context()) == nil {
			ctx, _ := cache.WithOutcome(r.Context())
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// setCacheStatus sets X-Cache (and Age for a stale answer) from what the
// request's lookups reported, and for a hit X-Cache-Tier: memory, or shared
// when any lookup was answered by the shared tier. Nothing is set when no
// lookup went through a cache.
func setCacheStatus(w http.ResponseWriter, r *http.Request) {
	outcome := cache.OutcomeFrom(r.Context())
	status, age := outcome.Result()
	if status == cache.StatusNone {
		return
	}
	w.Header().Set("X-Cache", string(status))
	if tier := outcome.Tier(); status == cache.StatusHit && tier != cache.TierNone {
		w.Header().Set("X-Cache-Tier", string(tier))
	}
	if status == cache.StatusStale {
		w.Header().Set("Age", strconv.Itoa(int(age.Seconds())))
	}
}

// notModified sets ETag and Cache-Control and, when If-None-Match matches,
// answers 304 and returns true.
func notModified(w http.ResponseWriter, r *http.Request, etag, cacheControl string) bool {
	h := w.Header()
	if etag != "" {
		h.Set("ETag", etag)
	}
	if cacheControl != "" {
		h.Set("Cache-Control", cacheControl)
	}
	if etag == "" || !etagMatches(r.Header.Get("If-None-Match"), etag) {
		return false
	}
	setCacheStatus(w, r)
	w.WriteHeader(http.StatusNotModified)
	return true
}
