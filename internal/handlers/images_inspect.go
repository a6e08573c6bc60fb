package handlers

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// inspectResponse is the answer of GET …/-/images/{reference}: the image
// summary people know from `skopeo inspect`, in this API's camelCase.
type inspectResponse struct {
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Reference  string `json:"reference"`
	imageInspect
	// Tags are the tags that point at the digest or at an index that has
	// it as an entry (with ?tags=true).
	Tags []string `json:"tags,omitempty"`
}

// imageInspect is one image's (or index's) summary.
type imageInspect struct {
	Digest       string            `json:"digest"`
	MediaType    string            `json:"mediaType"`
	Created      string            `json:"created,omitempty"`
	Size         *int64            `json:"size,omitempty"`
	OS           string            `json:"os,omitempty"`
	Architecture string            `json:"architecture,omitempty"`
	Variant      string            `json:"variant,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Env          []string          `json:"env,omitempty"`
	Entrypoint   []string          `json:"entrypoint,omitempty"`
	Cmd          []string          `json:"cmd,omitempty"`
	WorkingDir   string            `json:"workingDir,omitempty"`
	User         string            `json:"user,omitempty"`
	ExposedPorts []string          `json:"exposedPorts,omitempty"`
	Layers       []inspectLayer    `json:"layers,omitempty"`
	History      []inspectHistory  `json:"history,omitempty"`
	// Platforms are an index's entries, each summarized.
	Platforms []imageInspect `json:"platforms,omitempty"`
}

// inspectLayer is one layer of an image manifest.
type inspectLayer struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
}

// inspectHistory is one step of the config's history.
type inspectHistory struct {
	Created    string `json:"created,omitempty"`
	CreatedBy  string `json:"createdBy,omitempty"`
	Author     string `json:"author,omitempty"`
	Comment    string `json:"comment,omitempty"`
	EmptyLayer bool   `json:"emptyLayer,omitempty"`
}

// handleInspect serves GET …/-/images/{reference}?platform=&tags=: the
// summary of the image at reference, or of an index with each entry's
// summary under platforms. platform= picks an index's entry as the
// manifests route does; tags=true adds the tags that point at it, which
// costs what the table's digest= filter costs.
func (in *insight) handleInspect() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := repoTargetFrom(ctx)
		q := r.URL.Query()
		platform, err := parsePlatform(q.Get("platform"))
		if err != nil {
			writeError(w, r, in.logger, err)
			return
		}
		withTags, err := parseBool("tags", q.Get("tags"))
		if err != nil {
			writeError(w, r, in.logger, err)
			return
		}
		res, err := resolveManifest(ctx, t, platform, platform != nil)
		if err != nil {
			writeError(w, r, in.logger, err)
			return
		}
		digest := res.manifest.GetDescriptor().GetDigest().String()
		var s *imageSummary
		err = in.each(ctx, t.Registry, 1, func(ctx context.Context, _ int) error {
			s, err = in.summary(ctx, t, digest)
			return err
		})
		if err != nil {
			writeError(w, r, in.logger, err)
			return
		}
		resp := inspectResponse{Registry: t.Registry, Repository: t.Repository, Reference: t.Reference, imageInspect: inspectOf(s)}
		cc := cacheControlFor(t.repoRequest)
		if withTags {
			if resp.Tags, err = in.tagsOf(ctx, t, digest); err != nil {
				writeError(w, r, in.logger, err)
				return
			}
			cc = cacheControlShort
		}
		w.Header().Set("Docker-Content-Digest", digest)
		setPlatformHeader(w, res.platform)
		respondJSON(w, r, in.logger, resp, "", cc)
	})
}

// tagsOf returns the tags that point at digest or at an index that has it
// as an entry, in the registry's order: the table's digest= filter.
func (in *insight) tagsOf(ctx context.Context, t repoTarget, digest string) ([]string, error) {
	tags, err := t.client().ListTags(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	if len(tags) > in.cfg.MaxRows {
		return nil, errorf(codeTooManyTags, "the repository has %d tags, more than the %d rows this server computes to find the tags of a digest", len(tags), in.cfg.MaxRows)
	}
	entries := make([]*tableEntry, len(tags))
	for i, tag := range tags {
		entries[i] = &tableEntry{tag: tag, pos: i}
	}
	if err := in.summarizeEntries(ctx, t, entries); err != nil {
		return nil, err
	}
	// A tag that could not be described might point at digest: a list
	// without it would be wrong, not incomplete.
	if o := outcomeOf(entries); o.failed > 0 {
		return nil, o.first
	}
	out := []string{}
	for _, e := range entries {
		if e.sum != nil && e.sum.has(digest) {
			out = append(out, e.tag)
		}
	}
	return out, nil
}

// inspectOf turns a summary into its answer.
func inspectOf(s *imageSummary) imageInspect {
	ii := imageInspect{Digest: s.digest, MediaType: s.mediaType, Created: formatCreated(s.created)}
	if s.hasSize {
		ii.Size = &s.imgSize
	}
	if p := s.ownPlatform(); p != nil {
		ii.OS, ii.Architecture, ii.Variant = p.OS, p.Architecture, p.Variant
	}
	for _, l := range s.layers {
		ii.Layers = append(ii.Layers, inspectLayer{Digest: l.GetDigest().String(), MediaType: string(l.GetMediaType()), Size: l.GetSize()})
	}
	if cf := s.config; cf != nil {
		inspectConfig(&ii, cf)
	}
	for _, c := range s.children {
		ii.Platforms = append(ii.Platforms, inspectOf(c))
	}
	return ii
}

// inspectConfig copies what an image config says about running the image.
func inspectConfig(ii *imageInspect, cf *v1.ConfigFile) {
	c := cf.Config
	ii.Labels, ii.Env, ii.Entrypoint, ii.Cmd = c.Labels, c.Env, c.Entrypoint, c.Cmd
	ii.WorkingDir, ii.User = c.WorkingDir, c.User
	for port := range c.ExposedPorts {
		ii.ExposedPorts = append(ii.ExposedPorts, port)
	}
	slices.Sort(ii.ExposedPorts)
	for _, h := range cf.History {
		ii.History = append(ii.History, inspectHistory{
			Created: formatCreated(h.Created.Time), CreatedBy: h.CreatedBy, Author: h.Author,
			Comment: h.Comment, EmptyLayer: h.EmptyLayer,
		})
	}
}
