package registry

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Client reads from and writes to one repository path of one registry.
// A Client is immutable and safe for concurrent use; WithSegment derives new
// clients that share the parent's connections, pings and tokens.
type Client interface {
	// WithSegment returns a client whose path is this client's path followed
	// by segments. It never changes the receiver or the caller's slice. A
	// segment may hold several components ("a/b"). An invalid path makes every
	// call of the returned client fail with ErrInvalidName, without traffic.
	WithSegment(segments ...string) Client
	// GetRegistry returns the registry host followed by the repository path,
	// e.g. "registry.example.com/org/project".
	GetRegistry() string

	// GetImage resolves reference (a tag, "@sha256:…" or "sha256:…") to an
	// image. On an index it picks WithPlatform's platform (default
	// linux/amd64).
	GetImage(ctx context.Context, reference string, opts ...ImageGetOption) (ClientImage, error)
	// PushImage uploads img and tags it; blobs the registry has are skipped.
	PushImage(ctx context.Context, tag string, img v1.Image, opts ...ImagePushOption) error
	// PushIndex uploads idx with every child and tags it.
	PushIndex(ctx context.Context, tag string, idx v1.ImageIndex, opts ...ImagePushOption) error
	// GetDigest returns the manifest digest reference points at. With
	// WithPlatform and an index, it returns the matching child's digest.
	GetDigest(ctx context.Context, reference string, opts ...ImageGetOption) (*v1.Hash, error)
	// GetManifest returns the manifest exactly as served. With WithPlatform
	// and an index, it returns the matching child manifest instead.
	GetManifest(ctx context.Context, reference string, opts ...ImageGetOption) (ManifestResult, error)
	// GetImageConfig returns the parsed config of the image at reference.
	GetImageConfig(ctx context.Context, reference string, opts ...ImageGetOption) (*v1.ConfigFile, error)
	// GetConfigBlob returns the config blob of the image at reference, byte
	// for byte as the registry stores it.
	GetConfigBlob(ctx context.Context, reference string, opts ...ImageGetOption) ([]byte, error)
	// CheckImageExists returns nil when reference exists and an error
	// matching ErrImageNotFound when it does not.
	CheckImageExists(ctx context.Context, reference string) error
	// GetReferrers lists the manifests whose subject is the manifest at
	// reference (a tag is resolved to its digest first): the registry's
	// referrers API (OCI 1.1), or the tag schema's index (sha256-<hex>) when
	// the registry has no such API. Referrers.Source says which answered.
	GetReferrers(ctx context.Context, reference string) (*Referrers, error)
	// CopyImage copies the manifest at reference, with everything it
	// references, to dst under dstTag and returns the digest written. An index
	// is copied whole unless WithPlatform picks one child.
	CopyImage(ctx context.Context, reference string, dst Client, dstTag string, opts ...ImageGetOption) (*v1.Hash, error)

	// ListTags returns the repository's tags. With WithTagsLimit it returns
	// one page of at most that many tags, starting after WithTagsLast.
	ListTags(ctx context.Context, opts ...ListTagsOption) ([]string, error)
	// ListTagsPage returns one page of tags and the cursor of the next page.
	ListTagsPage(ctx context.Context, opts ...ListTagsOption) (*Page, error)
	// ListRepositories returns the full names (relative to the host) of the
	// repositories below this client's path, from the registry's catalog.
	ListRepositories(ctx context.Context, opts ...ListRepositoriesOption) ([]string, error)
	// ListRepositoriesPage returns one page of repositories below this
	// client's path and the cursor of the next page.
	ListRepositoriesPage(ctx context.Context, opts ...ListRepositoriesOption) (*Page, error)
}

// Page is one page of a listing.
type Page struct {
	// Items holds at most the requested limit of names, in registry order.
	Items []string
	// Next is the value to pass as "last" for the following page; empty on
	// the last page.
	Next string
}
