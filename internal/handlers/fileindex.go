package handlers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/singleflight"

	"github.com/regapi/regapi/internal/extract"
	"github.com/regapi/regapi/internal/lru"
	"github.com/regapi/regapi/internal/redact"
)

// IndexMetrics counts the use of the file indexes kept in memory;
// telemetry's *FileIndexes satisfies it. Hit and Miss count lookups of an
// image's index; Set reports what the indexes hold.
type IndexMetrics interface {
	Hit()
	Miss()
	Set(bytes int64, images int)
}

type noIndexMetrics struct{}

func (noIndexMetrics) Hit()           {}
func (noIndexMetrics) Miss()          {}
func (noIndexMetrics) Set(int64, int) {}

// LayerCache keeps layers on local disk; *layercache.Cache satisfies it.
// Layer returns l reading through the cache (an extract.PlainOpener), or l
// itself.
type LayerCache interface {
	// Layer returns l, a layer of the upstream named ns, reading through
	// the cache; layers are kept apart by upstream.
	Layer(ctx context.Context, ns string, l v1.Layer) v1.Layer
}

// Bounds of the file indexes: at most indexImages images; the bytes are
// Reads.IndexBytes.
const indexImages = 4096

// noIndexCost is what remembering that an image has no index costs.
const noIndexCost = 256

// fileIndexes keeps the file index of each image (extract.Index) by
// manifest digest: a digest fixes the layers, so an index never goes stale
// and never expires; least recently used indexes leave when the bytes pass
// the bound. An image that cannot be indexed (past the per-image bound, an
// artifact) is remembered as such, so it is not walked again for nothing.
//
// Hot-path shortcut, per the house rules: bound Reads.IndexBytes (and
// extract.DefaultIndexBytes per image), invalidation none (immutable by
// digest), measured in BENCHMARKS.md (repeat listing of a 256 MiB image),
// metrics regapi_file_index_*.
type fileIndexes struct {
	logger  *slog.Logger
	metrics IndexMetrics
	perImg  int64
	shared  SharedValues // nil: indexes stay in this process

	mu  sync.Mutex
	lru *lru.LRU[string, *extract.Index] // a nil index: the image has none

	builds singleflight.Group
}

// newFileIndexes returns indexes bounded by maxBytes; nil (no indexes)
// when maxBytes is negative.
func newFileIndexes(logger *slog.Logger, maxBytes int64, m IndexMetrics, shared SharedValues) *fileIndexes {
	if maxBytes < 0 {
		return nil
	}
	if m == nil {
		m = noIndexMetrics{}
	}
	l, err := lru.New[string, *extract.Index](indexImages, max(1, maxBytes), nil)
	if err != nil {
		panic("handlers: file index bounds: " + err.Error()) // both are positive
	}
	return &fileIndexes{
		logger:  logger,
		metrics: m,
		perImg:  min(maxBytes, extract.DefaultIndexBytes),
		shared:  shared,
		lru:     l,
	}
}

// lookup returns the index of the image at digest and whether one is
// known (a nil index known: the image has none).
func (fi *fileIndexes) lookup(digest string) (*extract.Index, bool) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	ix, ok := fi.lru.Get(digest)
	return ix, ok
}

// builder returns a builder for an extract of the whole tree of the image
// at digest, or nil when its index is known already.
func (fi *fileIndexes) builder(digest string) *extract.IndexBuilder {
	if fi == nil {
		return nil
	}
	if _, ok := fi.lookup(digest); ok {
		return nil
	}
	return extract.NewIndexBuilder(fi.perImg)
}

// built keeps what b learned during a Flatten of the image at digest, of
// upstream registry, and shares it with the fleet.
func (fi *fileIndexes) built(ctx context.Context, registry, digest string, b *extract.IndexBuilder) {
	ix, err := b.Index()
	switch {
	case err == nil:
		fi.put(digest, ix, ix.Bytes())
		fi.share(ctx, registry, digest, ix)
	case errors.Is(err, extract.ErrNoIndex):
		fi.logger.Debug("image not indexed", "digest", digest, "err", err)
		fi.put(digest, nil, noIndexCost)
	}
	// Any other error ended the Flatten; the next request tries again.
}

func (fi *fileIndexes) put(digest string, ix *extract.Index, n int64) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.lru.Add(digest, ix, n+int64(len(digest)))
	fi.metrics.Set(fi.lru.Bytes(), fi.lru.Len())
}

// get returns the index of the image at digest, building it on a miss by
// running Flatten over layers to io.Discard: the first request pays, and
// concurrent first requests build it once. It returns nil when the image
// has no index or the build failed; the caller then reads the layers.
func (fi *fileIndexes) get(ctx context.Context, registry, digest string, layers []v1.Layer) *extract.Index {
	if fi == nil {
		return nil
	}
	if ix, ok := fi.lookup(digest); ok {
		fi.metrics.Hit()
		return ix
	}
	fi.metrics.Miss()
	ch := fi.builds.DoChan(digest, func() (any, error) {
		if ix, ok := fi.lookup(digest); ok {
			return ix, nil // built by a call that just ended
		}
		if ix := fi.fromShared(ctx, registry, digest, len(layers)); ix != nil {
			fi.put(digest, ix, ix.Bytes())
			return ix, nil
		}
		b := extract.NewIndexBuilder(fi.perImg)
		if err := extract.Flatten(ctx, io.Discard, layers, extract.WithIndex(b)); err != nil {
			return nil, err
		}
		fi.built(ctx, registry, digest, b)
		ix, _ := fi.lookup(digest)
		return ix, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			// The caller's own read will meet the same failure, or not
			// (Lookup stops at the first layer that answers).
			fi.logger.Debug("file index build failed", "digest", digest, "err", redact.Text(res.Err.Error()))
			return nil
		}
		ix, _ := res.Val.(*extract.Index)
		return ix
	case <-ctx.Done():
		return nil
	}
}

// SharedValues is the shared cache tier's store for derived answers;
// internal/cache's *Cache satisfies it.
type SharedValues interface {
	GetShared(ctx context.Context, loc, name string) ([]byte, bool)
	SetShared(ctx context.Context, loc, name string, val []byte, ttl time.Duration)
}

// sharedIndexTTL is how long a shared file index lives: it describes an
// image by digest and never changes, so only the tier's memory bounds it.
const sharedIndexTTL = 7 * 24 * time.Hour

func sharedIndexName(digest string) string { return "file-index/" + digest }

// share stores ix in the shared tier, when there is one.
func (fi *fileIndexes) share(ctx context.Context, registry, digest string, ix *extract.Index) {
	if fi.shared == nil {
		return
	}
	b, err := ix.MarshalBinary()
	if err != nil {
		return
	}
	fi.shared.SetShared(ctx, registry, sharedIndexName(digest), b, sharedIndexTTL)
}

// fromShared reads the index of the image at digest from the shared tier,
// or nil. One that does not read back (damaged, over the bound, for another
// number of layers) is ignored: the caller builds it.
func (fi *fileIndexes) fromShared(ctx context.Context, registry, digest string, layers int) *extract.Index {
	if fi.shared == nil {
		return nil
	}
	b, ok := fi.shared.GetShared(ctx, registry, sharedIndexName(digest))
	if !ok {
		return nil
	}
	ix, err := extract.UnmarshalIndex(b, fi.perImg)
	if err != nil || ix.Layers() != layers {
		fi.logger.Warn("shared file index ignored", "digest", digest, "err", err)
		return nil
	}
	return ix
}

// cachedLayers returns layers reading through the layer cache, if any.
func cachedLayers(ctx context.Context, c LayerCache, ns string, layers []v1.Layer) []v1.Layer {
	if c == nil {
		return layers
	}
	out := make([]v1.Layer, len(layers))
	for i, l := range layers {
		out[i] = c.Layer(ctx, ns, l)
	}
	return out
}
