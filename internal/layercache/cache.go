package layercache

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/singleflight"
)

// Cache is a directory of uncompressed layers bounded by bytes. Its methods
// are safe for concurrent use. A nil *Cache keeps nothing: Layer returns
// the layer as it is.
type Cache struct {
	dir   string
	blobs string
	tmp   string
	o     *options

	mu    sync.Mutex
	byHex map[string]*list.Element // of *entry
	lru   *list.List               // front: most recently used
	total int64

	fills singleflight.Group
}

// entry is one layer file in blobs/.
type entry struct {
	hex      string
	size     int64
	verified bool // hashed by this process
}

// New opens the cache at dir, creating it when absent, removes what an
// earlier process left in tmp/, and rebuilds the LRU order from blobs/. It
// fails when dir cannot be made or read; callers degrade to no cache.
func New(dir string, maxBytes int64, opts ...Option) (*Cache, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("layer cache: max bytes %d: must be positive", maxBytes)
	}
	o, err := makeOptions(maxBytes, opts...)
	if err != nil {
		return nil, fmt.Errorf("layer cache: %w", err)
	}
	c := &Cache{
		dir:   dir,
		blobs: filepath.Join(dir, "blobs", "sha256"),
		tmp:   filepath.Join(dir, "tmp"),
		o:     o,
		byHex: map[string]*list.Element{},
		lru:   list.New(),
	}
	for _, d := range []string{c.blobs, c.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("layer cache: %w", err)
		}
	}
	if err := removeAll(c.tmp); err != nil {
		return nil, fmt.Errorf("layer cache: clear tmp: %w", err)
	}
	if err := c.load(); err != nil {
		return nil, fmt.Errorf("layer cache: %w", err)
	}
	return c, nil
}

// load rebuilds the index from blobs/, oldest modification first, and
// trims it to the bound (a smaller bound than the last run's).
func (c *Cache) load() error {
	des, err := os.ReadDir(c.blobs)
	if err != nil {
		return err
	}
	type found struct {
		hex   string
		size  int64
		mtime time.Time
	}
	var kept []found
	for _, de := range des {
		info, err := de.Info()
		if err != nil || !de.Type().IsRegular() || !validHex(de.Name()) {
			// Not ours: leave it, count nothing.
			continue
		}
		kept = append(kept, found{de.Name(), info.Size(), info.ModTime()})
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].mtime.Before(kept[j].mtime) })
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range kept {
		c.byHex[f.hex] = c.lru.PushFront(&entry{hex: f.hex, size: f.size})
		c.total += f.size
	}
	c.evictLocked()
	c.o.metrics.setSize(c.total, c.lru.Len())
	return nil
}

// Layer returns l reading through the cache: its OpenPlain answers from
// disk, filling the cache on first use (see internal/extract). ctx bounds a
// fill that this layer starts.
func (c *Cache) Layer(ctx context.Context, l v1.Layer) v1.Layer {
	if c == nil {
		return l
	}
	return &cachedLayer{Layer: l, c: c, ctx: ctx}
}

// cachedLayer is a layer whose uncompressed tar comes from the cache.
type cachedLayer struct {
	v1.Layer
	c   *Cache
	ctx context.Context
}

// OpenPlain returns the layer's uncompressed tar from disk, or false when
// the layer cannot be kept (no DiffID, larger than the cache, a disk
// failure, a failed download): the caller then reads it as usual.
func (l *cachedLayer) OpenPlain() (*os.File, bool) {
	f, err := l.c.Open(l.ctx, l.Layer)
	if err != nil {
		return nil, false
	}
	return f, true
}

// Open returns the uncompressed tar of l from disk, downloading and keeping
// it first when the cache does not have it. Concurrent calls for one layer
// download it once. The file is the caller's to close; it stays readable
// even if the cache removes it meanwhile.
func (c *Cache) Open(ctx context.Context, l v1.Layer) (*os.File, error) {
	diffID, err := l.DiffID()
	if err != nil {
		return nil, fmt.Errorf("layer cache: no diff id: %w", err)
	}
	if diffID.Algorithm != "sha256" || !validHex(diffID.Hex) {
		return nil, fmt.Errorf("layer cache: diff id %s: not a sha256 digest", diffID)
	}
	if f, ok := c.openKept(diffID.Hex); ok {
		c.o.metrics.hit()
		return f, nil
	}
	c.o.metrics.miss()
	_, err, _ = c.fills.Do(diffID.Hex, func() (any, error) {
		if _, ok := c.lookup(diffID.Hex); ok {
			return nil, nil // filled by a call that just ended
		}
		return nil, c.fill(ctx, l, diffID.Hex)
	})
	if err != nil {
		return nil, err
	}
	f, ok := c.openKept(diffID.Hex)
	if !ok {
		return nil, fmt.Errorf("layer cache: %s: gone right after it was kept", diffID)
	}
	return f, nil
}

func (c *Cache) lookup(hex string) (*entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byHex[hex]
	if !ok {
		return nil, false
	}
	return el.Value.(*entry), true
}

// openKept opens a kept layer, hashing it first if this process has not,
// and marks it most recently used. A file that does not hash to its name is
// removed.
func (c *Cache) openKept(hexDigest string) (*os.File, bool) {
	e, ok := c.lookup(hexDigest)
	if !ok {
		return nil, false
	}
	path := filepath.Join(c.blobs, hexDigest)
	f, err := os.Open(path) //nolint:gosec // G304: a name from the cache's own index, under its own directory
	if err != nil {
		c.drop(hexDigest, "open", err)
		return nil, false
	}
	info, err := f.Stat()
	if err != nil || info.Size() != e.size {
		_ = f.Close() // read-only
		c.drop(hexDigest, "size changed on disk", err)
		return nil, false
	}
	c.mu.Lock()
	verified := e.verified
	c.mu.Unlock()
	if !verified {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil || hex.EncodeToString(h.Sum(nil)) != hexDigest {
			_ = f.Close() // read-only
			c.o.metrics.corrupt()
			c.drop(hexDigest, "does not hash to its digest", err)
			return nil, false
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			_ = f.Close() // read-only
			return nil, false
		}
		c.mu.Lock()
		e.verified = true
		c.mu.Unlock()
	}
	c.mu.Lock()
	if el, ok := c.byHex[hexDigest]; ok {
		c.lru.MoveToFront(el)
	}
	c.mu.Unlock()
	// Recency survives a restart in the modification time; best effort.
	now := time.Now()
	_ = os.Chtimes(path, now, now)
	c.o.metrics.readFromDisk(e.size)
	return f, true
}

// drop forgets and removes a kept layer that cannot be used.
func (c *Cache) drop(hexDigest, why string, err error) {
	c.o.logger.Warn("layer cache: dropping a kept layer", "digest", "sha256:"+hexDigest, "why", why, "err", err)
	c.mu.Lock()
	if el, ok := c.byHex[hexDigest]; ok {
		c.total -= el.Value.(*entry).size
		c.lru.Remove(el)
		delete(c.byHex, hexDigest)
	}
	c.o.metrics.setSize(c.total, c.lru.Len())
	c.mu.Unlock()
	_ = os.Remove(filepath.Join(c.blobs, hexDigest))
}

// evictLocked removes least recently used layers until the total is
// within the bound. Readers that have a file open keep reading it.
func (c *Cache) evictLocked() {
	for c.total > c.o.maxBytes {
		el := c.lru.Back()
		if el == nil {
			return
		}
		e := el.Value.(*entry)
		c.lru.Remove(el)
		delete(c.byHex, e.hex)
		c.total -= e.size
		c.o.metrics.evicted(e.size)
		if err := os.Remove(filepath.Join(c.blobs, e.hex)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.o.logger.Warn("layer cache: remove evicted layer", "digest", "sha256:"+e.hex, "err", err)
		}
	}
}

// Bytes returns the bytes kept and the number of layers.
func (c *Cache) Bytes() (int64, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, c.lru.Len()
}

// validHex reports whether s is a sha256 digest's hex form.
func validHex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}

// removeAll removes what dir holds, not dir.
func removeAll(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		if err := os.RemoveAll(filepath.Join(dir, de.Name())); err != nil {
			return err
		}
	}
	return nil
}
