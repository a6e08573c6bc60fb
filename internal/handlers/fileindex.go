package handlers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

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

// indexWait is how long a files request waits for an index that another
// request is building before it reads the layers it needs itself: an
// index that ends within it (a typical image from a registry nearby)
// saves the walk; a build that takes longer, on a large image or a slow
// upstream, is not the waiter's to wait for.
const indexWait = time.Second

// indexKey names an image's index: the upstream it was read from and its
// manifest digest. The digest alone would let any upstream answer for an
// image of every other one: a caller who may pull from a hostile registry
// serving a well-known digest would have its layers, or its stalls, become
// the index other callers wait for. The layer cache keeps layers apart by
// upstream for the same reason.
type indexKey struct {
	registry, digest string
}

// fileIndexes keeps the file index of each image (extract.Index) by
// upstream and manifest digest: a digest fixes the layers, so an index
// never goes stale and never expires; least recently used indexes leave
// when the bytes pass the bound. An image that cannot be indexed (past the
// per-image bound, an artifact) is remembered as such, so it is not walked
// again for nothing.
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
	wait    time.Duration

	mu     sync.Mutex
	lru    *lru.LRU[indexKey, *extract.Index] // a nil index: the image has none
	builds map[indexKey]*indexBuild           // in progress; at most one per read slot
}

// indexBuild is a build in progress: ix is set before done is closed.
type indexBuild struct {
	done chan struct{}
	ix   *extract.Index
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
	l, err := lru.New[indexKey, *extract.Index](indexImages, max(1, maxBytes), nil)
	if err != nil {
		panic("handlers: file index bounds: " + err.Error()) // both are positive
	}
	return &fileIndexes{
		logger:  logger,
		metrics: m,
		perImg:  min(maxBytes, extract.DefaultIndexBytes),
		shared:  shared,
		wait:    indexWait,
		lru:     l,
		builds:  map[indexKey]*indexBuild{},
	}
}

// lookup returns the index of the image at k and whether one is known (a
// nil index known: the image has none).
func (fi *fileIndexes) lookup(k indexKey) (*extract.Index, bool) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	ix, ok := fi.lru.Get(k)
	return ix, ok
}

// builder returns a builder for an extract of the whole tree of the image
// at digest, of upstream registry, or nil when its index is known already.
func (fi *fileIndexes) builder(registry, digest string) *extract.IndexBuilder {
	if fi == nil {
		return nil
	}
	if _, ok := fi.lookup(indexKey{registry, digest}); ok {
		return nil
	}
	return extract.NewIndexBuilder(fi.perImg)
}

// built keeps what b learned during a Flatten of the image at digest, of
// upstream registry, and shares it with the fleet.
func (fi *fileIndexes) built(ctx context.Context, registry, digest string, b *extract.IndexBuilder) {
	k := indexKey{registry, digest}
	ix, err := b.Index()
	switch {
	case err == nil:
		fi.put(k, ix, ix.Bytes())
		fi.share(ctx, k, ix)
	case errors.Is(err, extract.ErrNoIndex):
		fi.logger.Debug("image not indexed", "registry", registry, "digest", digest, "err", err)
		fi.put(k, nil, noIndexCost)
	}
	// Any other error ended the Flatten; the next request tries again.
}

func (fi *fileIndexes) put(k indexKey, ix *extract.Index, n int64) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.lru.Add(k, ix, n+int64(len(k.registry)+len(k.digest)))
	fi.metrics.Set(fi.lru.Bytes(), fi.lru.Len())
}

// get returns the index of the image at digest, of upstream registry,
// building it on a miss by running Flatten over layers to io.Discard: the
// first request pays. It returns nil when the image has no index or the
// build failed; the caller then reads the layers.
//
// The build runs in the request that starts it, with its context: it ends
// when that request does (its client gone, its read cut, or at
// Reads.MaxDuration, which the read slots impose). A request that finds a
// build of the same image in progress waits for it at most fi.wait, then
// reads the layers it needs itself: another caller's build, on a large
// image or a slow upstream, never holds it longer than that.
func (fi *fileIndexes) get(ctx context.Context, registry, digest string, layers []v1.Layer) *extract.Index {
	if fi == nil {
		return nil
	}
	k := indexKey{registry, digest}
	fi.mu.Lock()
	if ix, ok := fi.lru.Get(k); ok {
		fi.mu.Unlock()
		fi.metrics.Hit()
		return ix
	}
	b, running := fi.builds[k]
	if !running {
		b = &indexBuild{done: make(chan struct{})}
		fi.builds[k] = b
	}
	fi.mu.Unlock()
	fi.metrics.Miss()
	if running {
		return fi.await(ctx, k, b)
	}
	defer func() {
		fi.mu.Lock()
		delete(fi.builds, k)
		fi.mu.Unlock()
		close(b.done)
	}()
	b.ix = fi.build(ctx, k, layers)
	return b.ix
}

// await waits for another request's build of k, at most fi.wait.
func (fi *fileIndexes) await(ctx context.Context, k indexKey, b *indexBuild) *extract.Index {
	t := time.NewTimer(fi.wait)
	defer t.Stop()
	select {
	case <-b.done:
		return b.ix
	case <-t.C:
		fi.logger.DebugContext(ctx, "file index still being built by another request; reading the layers", "registry", k.registry, "digest", k.digest)
		return nil
	case <-ctx.Done():
		return nil
	}
}

// build reads the index of k from the shared tier, or walks layers for it.
func (fi *fileIndexes) build(ctx context.Context, k indexKey, layers []v1.Layer) *extract.Index {
	if ix := fi.fromShared(ctx, k, len(layers)); ix != nil {
		fi.put(k, ix, ix.Bytes())
		return ix
	}
	b := extract.NewIndexBuilder(fi.perImg)
	if err := extract.Flatten(ctx, io.Discard, layers, extract.WithIndex(b)); err != nil {
		// The caller's own read will meet the same failure, or not
		// (Lookup stops at the first layer that answers).
		fi.logger.DebugContext(ctx, "file index build failed", "registry", k.registry, "digest", k.digest, "err", redact.Text(err.Error()))
		return nil
	}
	fi.built(ctx, k.registry, k.digest, b)
	ix, _ := fi.lookup(k)
	return ix
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

// share stores ix in the shared tier, when there is one, under its
// upstream (the tier's loc) and digest, as the memory keeps it.
func (fi *fileIndexes) share(ctx context.Context, k indexKey, ix *extract.Index) {
	if fi.shared == nil {
		return
	}
	b, err := ix.MarshalBinary()
	if err != nil {
		return
	}
	fi.shared.SetShared(ctx, k.registry, sharedIndexName(k.digest), b, sharedIndexTTL)
}

// fromShared reads the index of the image at k from the shared tier, or
// nil: only one stored for the same upstream. One that does not read back
// (damaged, over the bound, for another number of layers) is ignored: the
// caller builds it.
func (fi *fileIndexes) fromShared(ctx context.Context, k indexKey, layers int) *extract.Index {
	if fi.shared == nil {
		return nil
	}
	b, ok := fi.shared.GetShared(ctx, k.registry, sharedIndexName(k.digest))
	if !ok {
		return nil
	}
	ix, err := extract.UnmarshalIndex(b, fi.perImg)
	if err != nil || ix.Layers() != layers {
		fi.logger.Warn("shared file index ignored", "registry", k.registry, "digest", k.digest, "err", err)
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
