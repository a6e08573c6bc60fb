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
)

// Cache is a directory of uncompressed layers bounded by bytes. Its methods
// are safe for concurrent use. A nil *Cache keeps nothing: Layer returns
// the layer as it is.
type Cache struct {
	dir     string
	blobs   string
	digests string
	tmp     string
	o       *options

	mu    sync.Mutex
	byHex map[string]*list.Element // of *entry
	lru   *list.List               // front: most recently used
	total int64
	// byDigest maps a blob key (blobKey: the upstream's name and the
	// blob's digest) to the hash of the tar a verified fill of that blob
	// wrote. It is the only way to a kept layer: nothing an image says
	// about itself (its config's diff_ids) leads to one, so an image
	// cannot claim another's layer, and a layer kept from one upstream is
	// never served for another.
	byDigest map[string]string

	// filling holds the fills under way, by blob key.
	filling map[string]*fill
}

// blobKey names the blob digestHex of upstream ns: the hex sha256 of the
// two, a file name.
func blobKey(ns, digestHex string) string {
	sum := sha256.Sum256([]byte(ns + "\x00" + digestHex))
	return hex.EncodeToString(sum[:])
}

// entry is one layer file in blobs/.
type entry struct {
	hex      string
	size     int64
	verified bool     // hashed by this process
	digests  []string // the blob digests known to map to it
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
		dir:      dir,
		blobs:    filepath.Join(dir, "blobs", "sha256"),
		digests:  filepath.Join(dir, "digests", "sha256"),
		tmp:      filepath.Join(dir, "tmp"),
		o:        o,
		byHex:    map[string]*list.Element{},
		lru:      list.New(),
		byDigest: map[string]string{},
		filling:  map[string]*fill{},
	}
	for _, d := range []string{c.blobs, c.digests, c.tmp} {
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
	c.loadDigestsLocked()
	return nil
}

// loadDigestsLocked reads the links of digests/ (each a file named by the
// blob key holding the hash of the layer's tar), dropping those whose
// layer is gone or that do not parse.
func (c *Cache) loadDigestsLocked() {
	des, err := os.ReadDir(c.digests)
	if err != nil {
		return // no links: every layer is downloaded again
	}
	for _, de := range des {
		name := filepath.Join(c.digests, de.Name())
		if !de.Type().IsRegular() || !validHex(de.Name()) {
			continue
		}
		b, err := os.ReadFile(name) //nolint:gosec // G304: a name from the cache's own digests/ directory, as listed
		diff := string(b)
		el, ok := c.byHex[diff]
		if err != nil || !validHex(diff) || !ok {
			_ = os.Remove(name)
			continue
		}
		c.byDigest[de.Name()] = diff
		e := el.Value.(*entry)
		e.digests = append(e.digests, de.Name())
	}
}

// Layer returns l, a layer of upstream ns, reading through the cache: its
// OpenPlain answers from disk, starting a fill on first use that the read
// follows (see internal/extract). ctx bounds the reads of the returned
// layer.
func (c *Cache) Layer(ctx context.Context, ns string, l v1.Layer) v1.Layer {
	if c == nil {
		return l
	}
	return &cachedLayer{Layer: l, c: c, ctx: ctx, ns: ns}
}

// PlainFile is a layer's uncompressed tar as OpenPlain returns it: a kept
// file, or the file a fill is writing, whose reads wait for its bytes.
type PlainFile = interface {
	io.ReadCloser
	io.ReaderAt
}

// cachedLayer is a layer whose uncompressed tar comes from the cache.
type cachedLayer struct {
	v1.Layer
	c   *Cache
	ctx context.Context
	ns  string
}

// OpenPlain returns the layer's uncompressed tar from disk: the kept file,
// or, on a miss, the file a fill writes as it downloads and decompresses
// the layer, read as it grows, so the first read is not held back by the
// fill. It returns false when the layer cannot be kept (no sha256 digest,
// a disk failure): the caller then reads it as usual.
func (l *cachedLayer) OpenPlain() (PlainFile, bool) {
	key, err := keyOf(l.ns, l.Layer)
	if err != nil {
		return nil, false
	}
	if f, ok := l.c.openLinked(key); ok {
		l.c.o.metrics.hit()
		return f, true
	}
	l.c.o.metrics.miss()
	r, err := l.c.follow(l.ctx, l.Layer, key)
	if err != nil {
		return nil, false
	}
	return r, true
}

// Open returns the uncompressed tar of l, a layer of upstream ns, from
// disk, downloading and keeping it first when the cache does not have it.
// Concurrent calls for one layer (and OpenPlain's reads) download it once.
// The file is the caller's to close; it stays readable even if the cache
// removes it meanwhile.
func (c *Cache) Open(ctx context.Context, ns string, l v1.Layer) (*os.File, error) {
	key, err := keyOf(ns, l)
	if err != nil {
		return nil, err
	}
	if f, ok := c.openLinked(key); ok {
		c.o.metrics.hit()
		return f, nil
	}
	c.o.metrics.miss()
	r, err := c.follow(ctx, l, key)
	if err != nil {
		return nil, err
	}
	err = r.wait()
	_ = r.Close() // a follower's Close always returns nil
	if err != nil {
		return nil, err
	}
	f, ok := c.openLinked(key)
	if !ok {
		return nil, fmt.Errorf("layer cache: %s: gone right after it was kept", key)
	}
	return f, nil
}

// keyOf returns the blob key of l, a layer of upstream ns.
func keyOf(ns string, l v1.Layer) (string, error) {
	d, err := l.Digest()
	if err != nil {
		return "", fmt.Errorf("layer cache: no digest: %w", err)
	}
	if d.Algorithm != "sha256" || !validHex(d.Hex) {
		return "", fmt.Errorf("layer cache: digest %s: not a sha256 digest", d)
	}
	return blobKey(ns, d.Hex), nil
}

// openLinked opens the kept layer a verified fill linked key to.
func (c *Cache) openLinked(key string) (*os.File, bool) {
	c.mu.Lock()
	tarHex, ok := c.byDigest[key]
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	return c.openKept(tarHex)
}

// link records that the blob key digestHex holds the layer diffHex (the
// hash of its tar), in memory and in digests/ (written aside and renamed,
// so a link is whole or absent). Only a verified fill links: see byDigest.
// A link that cannot be written costs a download after a restart, nothing
// more.
func (c *Cache) link(digestHex, diffHex string) {
	if digestHex == "" {
		return
	}
	c.mu.Lock()
	el, kept := c.byHex[diffHex]
	_, known := c.byDigest[digestHex]
	if !kept || known {
		c.mu.Unlock()
		return
	}
	c.byDigest[digestHex] = diffHex
	e := el.Value.(*entry)
	e.digests = append(e.digests, digestHex)
	c.mu.Unlock()
	f, err := os.CreateTemp(c.tmp, "link-*")
	if err != nil {
		return
	}
	_, werr := f.WriteString(diffHex)
	if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), filepath.Join(c.digests, digestHex)) != nil {
		_ = os.Remove(f.Name())
	}
}

// unlinkLocked forgets the links to e.
func (c *Cache) unlinkLocked(e *entry) {
	for _, d := range e.digests {
		delete(c.byDigest, d)
		_ = os.Remove(filepath.Join(c.digests, d))
	}
	e.digests = nil
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
		c.unlinkLocked(el.Value.(*entry))
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
		c.unlinkLocked(e)
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
