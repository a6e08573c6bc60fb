package handlers

import (
	"encoding/json"
	"log/slog"
	"net/http"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// manifestResponse is the JSON answer of GET …/-/manifests/{reference}.
type manifestResponse struct {
	Registry   string          `json:"registry"`
	Repository string          `json:"repository"`
	Reference  string          `json:"reference"`
	Digest     string          `json:"digest"`
	MediaType  string          `json:"mediaType"`
	Size       int64           `json:"size"`
	Platform   string          `json:"platform,omitempty"`
	Manifest   json.RawMessage `json:"manifest"`
}

// handleManifest serves GET and HEAD …/-/manifests/{reference}?platform=&raw=.
// Without platform= an index is answered as the index; raw=true answers the
// bytes exactly as served, with their media type. An envelope already
// encoded is written from memo: its key holds every field, the digest
// standing for the manifest's bytes.
func handleManifest(logger *slog.Logger, memo *answerMemo) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := repoTargetFrom(r.Context())
		q := r.URL.Query()
		platform, err := parsePlatform(q.Get("platform"))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		raw, err := parseBool("raw", q.Get("raw"))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		cc := cacheControlFor(t.repoRequest)
		if t.Digest && platform == nil {
			// Digest-addressed content never changes: a client holding
			// it needs no upstream traffic to learn that.
			w.Header().Set("Docker-Content-Digest", t.Reference)
			if notModified(w, r, digestETag(t.Reference), cc) {
				return
			}
		}
		res, err := resolveManifest(r.Context(), t, platform, platform != nil)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		desc := res.manifest.GetDescriptor()
		digest := desc.GetDigest().String()
		w.Header().Set("Docker-Content-Digest", digest)
		setPlatformHeader(w, res.platform)
		if raw {
			respondUpstreamBytes(w, r, string(desc.GetMediaType()), "application/octet-stream", res.manifest.GetRaw(), digestETag(digest), cc)
			return
		}
		served := platformName(res.platform)
		key := memoKey(t.Registry, t.Repository, t.Reference, served, digest, string(desc.GetMediaType()))
		a := memo.get(key)
		if a == nil {
			body, err := encodeBody(manifestResponse{
				Registry:   t.Registry,
				Repository: t.Repository,
				Reference:  t.Reference,
				Digest:     digest,
				MediaType:  string(desc.GetMediaType()),
				Size:       desc.GetSize(),
				Platform:   served,
				Manifest:   res.manifest.GetRaw(),
			})
			if err != nil {
				writeError(w, r, logger, err)
				return
			}
			a = &memoAnswer{body: body, etag: digestETag(digest)}
			memo.put(key, a)
		}
		respondBytes(w, r, "application/json", a.body, a.etag, cc)
	})
}

// digestResponse is the answer of GET …/-/digest/{reference}.
type digestResponse struct {
	Digest string `json:"digest"`
}

// handleDigest serves GET …/-/digest/{reference}?platform=. On an index
// without platform= it answers the default platform's child.
func handleDigest(logger *slog.Logger, defaultPlatform v1.Platform) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := repoTargetFrom(r.Context())
		res, err := resolveOrDefault(r, t, defaultPlatform)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		digest := res.manifest.GetDescriptor().GetDigest().String()
		setPlatformHeader(w, res.platform)
		respondJSON(w, r, logger, digestResponse{Digest: digest}, digestETag(digest), cacheControlFor(t.repoRequest))
	})
}

// platformOrDefault reads ?platform= or falls back to the server's
// default; explicit says the request named it.
func platformOrDefault(r *http.Request, def v1.Platform) (p *v1.Platform, explicit bool, err error) {
	p, err = parsePlatform(r.URL.Query().Get("platform"))
	if err != nil || p != nil {
		return p, p != nil, err
	}
	return &def, false, nil
}

// resolveOrDefault resolves t's manifest for ?platform=, or for the
// server's default platform when the query names none: the reads that
// answer one image's content (digest, config, files).
func resolveOrDefault(r *http.Request, t repoTarget, def v1.Platform) (resolved, error) {
	platform, explicit, err := platformOrDefault(r, def)
	if err != nil {
		return resolved{}, err
	}
	return resolveManifest(r.Context(), t, platform, explicit)
}

// setPlatformHeader names the platform served when an index was resolved.
func setPlatformHeader(w http.ResponseWriter, p *v1.Platform) {
	if p != nil {
		w.Header().Set(platformHeader, platformString(*p))
	}
}

func platformName(p *v1.Platform) string {
	if p == nil {
		return ""
	}
	return platformString(*p)
}
