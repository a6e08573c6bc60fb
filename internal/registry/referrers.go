package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Sources of a referrers list (Referrers.Source).
const (
	// ReferrersAPI: the registry's GET /v2/<name>/referrers/<digest>.
	ReferrersAPI = "api"
	// ReferrersTagSchema: the index tagged sha256-<hex>, which clients
	// maintain on registries without the API.
	ReferrersTagSchema = "tag-schema"
)

// Referrers lists what refers to one manifest.
type Referrers struct {
	// Subject is the digest referred to.
	Subject v1.Hash
	// Source is ReferrersAPI or ReferrersTagSchema.
	Source string
	// Manifests are the referrers, each with its artifact type and
	// annotations.
	Manifests []Descriptor
}

// GetReferrers lists the referrers of the manifest at reference. A
// registry answers the referrers API with an OCI index; one without it
// answers 404, 400 or 406 (what go-containerregistry's remote.Referrers
// reads as "no API"), or 200 with something else, and then the tag schema
// is read: a missing tag is an empty list. Any other failure is an error,
// never an empty list.
func (c *client) GetReferrers(ctx context.Context, reference string) (*Referrers, error) {
	ctx, cl := c.begin(ctx, "get referrers", reference)
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	r, err := c.referrers(ctx, reference)
	return r, cl.end(ctx, err, kindManifest)
}

func (c *client) referrers(ctx context.Context, reference string) (*Referrers, error) {
	ref, err := c.reference(reference)
	if err != nil {
		return nil, err
	}
	subject, ok := ref.(name.Digest)
	if !ok {
		d, err := c.head(ctx, ref)
		if err != nil {
			return nil, err
		}
		subject = ref.Context().Digest(d.Digest.String())
	}
	h, err := v1.NewHash(subject.DigestStr())
	if err != nil {
		return nil, err
	}
	raw, err := c.referrersAPI(ctx, subject)
	source := ReferrersAPI
	if errors.Is(err, errNoReferrersAPI) {
		source = ReferrersTagSchema
		raw, err = c.referrersTag(ctx, subject)
	}
	if err != nil {
		return nil, err
	}
	out := &Referrers{Subject: h, Source: source, Manifests: []Descriptor{}}
	if raw == nil {
		return out, nil
	}
	idx, err := parseIndex(raw)
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", h, err)
	}
	for _, d := range idx.Manifests {
		out.Manifests = append(out.Manifests, descriptorOf(d))
	}
	return out, nil
}

// errNoReferrersAPI says the registry has no referrers API.
var errNoReferrersAPI = errors.New("registry has no referrers API")

// referrersAPI GETs the referrers API's index for subject.
func (c *client) referrersAPI(ctx context.Context, subject name.Digest) ([]byte, error) {
	repo := subject.Context()
	rt, ch, err := c.s.scopedTransport(ctx, repo.Scope("pull"), repo)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: rt, CheckRedirect: c.s.sameHostRedirect}
	u := url.URL{Scheme: "https", Host: c.s.host, Path: "/v2/" + repo.RepositoryStr() + "/referrers/" + subject.DigestStr()}
	if ch.Insecure {
		u.Scheme = "http"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", string(types.OCIImageIndex))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }() // read-only: nothing to lose
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusBadRequest, http.StatusNotAcceptable:
		return nil, errNoReferrersAPI
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != string(types.OCIImageIndex) {
		return nil, errNoReferrersAPI
	}
	return readBounded(resp.Body, c.s.opts.MaxManifestBytes)
}

// referrersTag reads the tag schema's index for subject; nil when the tag
// does not exist (nothing refers to subject yet).
func (c *client) referrersTag(ctx context.Context, subject name.Digest) ([]byte, error) {
	tag := subject.Context().Tag(strings.Replace(subject.DigestStr(), ":", "-", 1))
	desc, err := c.s.puller(tag).Get(ctx, tag)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		return nil, fmt.Errorf("tag %s is a %s, not the referrers index", tag.TagStr(), desc.MediaType)
	}
	if int64(len(desc.Manifest)) > c.s.opts.MaxManifestBytes {
		return nil, fmt.Errorf("%w: %d bytes, cap %d", ErrManifestTooLarge, len(desc.Manifest), c.s.opts.MaxManifestBytes)
	}
	return desc.Manifest, nil
}

// readBounded reads r whole, failing past max bytes.
func readBounded(r io.Reader, max int64) ([]byte, error) {
	var b bytes.Buffer
	n, err := b.ReadFrom(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("%w: over %d bytes", ErrManifestTooLarge, max)
	}
	return b.Bytes(), nil
}
