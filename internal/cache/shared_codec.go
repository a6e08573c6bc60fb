package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/regapi/regapi/internal/registry"
)

// codec turns one operation's answers into bytes for the shared tier and
// back. dec returns the answer and its estimated payload size, as a load
// does.
type codec struct {
	enc func(val any) ([]byte, bool)
	dec func(b []byte) (any, int64, error)
}

// The first byte of a shared value says what follows.
const (
	tagValue        = 'v' // the encoded answer
	tagImageMissing = 'i' // registry.ErrImageNotFound
	tagRepoMissing  = 'r' // registry.ErrRepositoryNotFound
)

var errCorrupt = errors.New("shared value does not match its key")

// codecs by operation. An operation without one (referrers) stays in each
// replica's memory.
var codecs = map[string]*codec{
	opTags:       namesCodec,
	opRepos:      namesCodec,
	opTagsPage:   pageCodec,
	opReposPage:  pageCodec,
	opRef:        digestCodec,
	opDigestPlat: digestCodec,
	opManifest:   manifestCodec,
	opChild:      manifestCodec,
	opConfig:     bytesCodec,
}

var namesCodec = &codec{
	enc: func(v any) ([]byte, bool) {
		b, err := json.Marshal(v.([]string))
		return b, err == nil
	},
	dec: func(b []byte) (any, int64, error) {
		var names []string
		if err := json.Unmarshal(b, &names); err != nil {
			return nil, 0, err
		}
		return names, namesSize(names), nil
	},
}

// sharedPage is a registry.Page as JSON.
type sharedPage struct {
	Items []string `json:"items"`
	Next  string   `json:"next,omitempty"`
}

var pageCodec = &codec{
	enc: func(v any) ([]byte, bool) {
		p := v.(*registry.Page)
		if p == nil {
			return nil, false
		}
		b, err := json.Marshal(sharedPage{Items: p.Items, Next: p.Next})
		return b, err == nil
	},
	dec: func(b []byte) (any, int64, error) {
		var sp sharedPage
		if err := json.Unmarshal(b, &sp); err != nil {
			return nil, 0, err
		}
		p := &registry.Page{Items: sp.Items, Next: sp.Next}
		return p, pageSize(p), nil
	},
}

var digestCodec = &codec{
	enc: func(v any) ([]byte, bool) { return []byte(v.(string)), true },
	dec: func(b []byte) (any, int64, error) {
		h, err := v1.NewHash(string(b))
		if err != nil {
			return nil, 0, err
		}
		return h.String(), digestSize, nil
	},
}

var bytesCodec = &codec{
	enc: func(v any) ([]byte, bool) { return v.([]byte), true },
	dec: func(b []byte) (any, int64, error) { return b, int64(len(b)) + 24, nil },
}

// A manifest is its media type and digest, each preceded by its length as
// a uvarint, then the raw bytes as served.
var manifestCodec = &codec{
	enc: func(v any) ([]byte, bool) {
		h := v.(*heldManifest)
		d := h.m.GetDescriptor()
		mt, dg, raw := string(d.GetMediaType()), d.GetDigest().String(), h.m.GetRaw()
		b := make([]byte, 0, 2*binary.MaxVarintLen64+len(mt)+len(dg)+len(raw))
		b = binary.AppendUvarint(b, uint64(len(mt)))
		b = append(b, mt...)
		b = binary.AppendUvarint(b, uint64(len(dg)))
		b = append(b, dg...)
		return append(b, raw...), true
	},
	dec: func(b []byte) (any, int64, error) {
		mt, b, err := lengthPrefixed(b)
		if err != nil {
			return nil, 0, err
		}
		dg, raw, err := lengthPrefixed(b)
		if err != nil {
			return nil, 0, err
		}
		h, err := v1.NewHash(string(dg))
		if err != nil {
			return nil, 0, err
		}
		if err := matchesDigest(raw, h.String()); err != nil {
			return nil, 0, err
		}
		m := holdManifest(registry.NewManifestResult(raw, types.MediaType(mt), h))
		return m, m.size(), nil
	},
}

func lengthPrefixed(b []byte) (field, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, nil, errors.New("truncated shared value")
	}
	b = b[k:]
	if n > uint64(len(b)) {
		return nil, nil, errors.New("truncated shared value")
	}
	// n <= len(b) from here, so it fits an int.
	return b[:n], b[n:], nil
}

// matchesDigest checks that b hashes to digest d.
func matchesDigest(b []byte, d string) error {
	sum := sha256.Sum256(b)
	if d != "sha256:"+hex.EncodeToString(sum[:]) {
		return errCorrupt
	}
	return nil
}

// verifiable reports whether a digest-addressed answer can be checked when
// read back: its key names a sha256 digest the value must hash to (or be).
func verifiable(l lookup) bool {
	switch l.op {
	case opManifest, opConfig, opRef:
		return l.immutable && len(l.arg) == 71 && l.arg[:7] == "sha256:"
	case opChild:
		return true // the manifest carries its digest and is checked against it
	}
	return false
}

// encodeShared returns the shared value of a load's result and its expiry,
// or false when it is not shared: an error other than not-found, a TTL of
// zero, or a digest-addressed answer whose digest cannot be checked.
func encodeShared(l lookup, val any, err error, o *options) ([]byte, time.Duration, bool) {
	switch {
	case err == nil:
	case errors.Is(err, registry.ErrRepositoryNotFound):
		return []byte{tagRepoMissing}, o.negativeTTL, o.negativeTTL > 0
	case errors.Is(err, registry.ErrImageNotFound):
		return []byte{tagImageMissing}, o.negativeTTL, o.negativeTTL > 0
	default:
		return nil, 0, false
	}
	ttl := l.ttl
	if l.immutable {
		if !verifiable(l) {
			// A platform's digest under a digest reference: correct for
			// ever, but nothing to check it against; keep it briefly.
			ttl = o.tagTTL
		} else {
			ttl = digestTTL
		}
	}
	if ttl <= 0 {
		return nil, 0, false
	}
	b, ok := l.codec.enc(val)
	if !ok {
		return nil, 0, false
	}
	return append([]byte{tagValue}, b...), ttl, true
}

// decodeShared reads a shared value for l, checking a digest-addressed one
// against its key. limit bounds what is accepted (the entry size cap).
func decodeShared(l lookup, b []byte, limit int64) (sharedValue, error) {
	if len(b) == 0 || int64(len(b)) > limit {
		return sharedValue{}, fmt.Errorf("shared value of %d bytes", len(b))
	}
	switch b[0] {
	case tagRepoMissing:
		return sharedValue{err: registry.ErrRepositoryNotFound}, nil
	case tagImageMissing:
		return sharedValue{err: registry.ErrImageNotFound}, nil
	case tagValue:
	default:
		return sharedValue{}, errors.New("unknown shared value")
	}
	val, size, err := l.codec.dec(b[1:])
	if err != nil {
		return sharedValue{}, err
	}
	if l.immutable && verifiable(l) {
		switch l.op {
		case opManifest:
			if h := val.(*heldManifest); h.digest() != l.arg {
				return sharedValue{}, errCorrupt
			}
		case opConfig:
			if err := matchesDigest(val.([]byte), l.arg); err != nil {
				return sharedValue{}, err
			}
		case opRef:
			if val.(string) != l.arg {
				return sharedValue{}, errCorrupt
			}
		}
	}
	return sharedValue{val: val, size: size}, nil
}
