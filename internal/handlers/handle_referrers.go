package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
)

// maxArtifactType bounds ?artifactType=: media types are at most 255
// characters (RFC 6838 allows 127 on each side of the slash).
const maxArtifactType = 255

// referrersResponse is the answer of GET …/-/referrers/{reference}.
type referrersResponse struct {
	Registry   string     `json:"registry"`
	Repository string     `json:"repository"`
	Reference  string     `json:"reference"`
	Digest     string     `json:"digest"`
	Source     string     `json:"source"`
	Referrers  []referrer `json:"referrers"`
}

// referrer is one artifact that refers to the image.
type referrer struct {
	Digest       string            `json:"digest"`
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Size         int64             `json:"size"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// handleReferrers serves GET …/-/referrers/{reference}?platform=&artifactType=:
// the artifacts (signatures, SBOMs, attestations) whose subject is the
// manifest at reference, or with platform= the index entry for it, from
// the registry's referrers API or its tag schema ("source" says which).
// An upstream failure is an error, never an empty list.
func handleReferrers(logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := repoTargetFrom(ctx)
		q := r.URL.Query()
		platform, err := parsePlatform(q.Get("platform"))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		artifactType := q.Get("artifactType")
		if len(artifactType) > maxArtifactType {
			writeError(w, r, logger, errorf(codeParameterInvalid, "artifactType longer than %d bytes", maxArtifactType))
			return
		}
		res, err := resolveManifest(ctx, t, platform)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		digest := res.manifest.GetDescriptor().GetDigest().String()
		refs, err := t.client().GetReferrers(ctx, "@"+digest)
		if err != nil {
			writeError(w, r, logger, fmt.Errorf("referrers of %s: %w", digest, err))
			return
		}
		resp := referrersResponse{Registry: t.Registry, Repository: t.Repository, Reference: t.Reference,
			Digest: digest, Source: refs.Source, Referrers: []referrer{}}
		for _, d := range refs.Manifests {
			if artifactType != "" && d.GetArtifactType() != artifactType {
				continue
			}
			resp.Referrers = append(resp.Referrers, referrer{
				Digest: d.GetDigest().String(), MediaType: string(d.GetMediaType()),
				ArtifactType: d.GetArtifactType(), Size: d.GetSize(), Annotations: d.GetAnnotations(),
			})
		}
		w.Header().Set("Docker-Content-Digest", digest)
		setPlatformHeader(w, res.platform)
		// Referrers of even a digest change when someone signs it.
		respondJSON(w, r, logger, resp, "", cacheControlShort)
	})
}
