package handlers

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// sealedPrefix starts every sealed cursor. A repository name starts with a
// letter or digit, so a sealed cursor is never mistaken for one.
const sealedPrefix = "~"

// maxSealedCursor bounds the sealed cursor read from a caller before any
// decoding: the largest one issued (two names of at most 255 bytes, GCM's
// nonce and tag, base64) is well under it.
const maxSealedCursor = 1024

// maxResumeBytes bounds what a sealed cursor holds (the upstream's cursor
// and the prefix), so that every cursor sealed opens: sealed, 640 bytes
// are 1 + base64(12 + 641 + 16) = 894 bytes, under maxSealedCursor.
// Repository names are at most 255 bytes; a registry whose cursors are
// longer is answered UPSTREAM_INVALID.
const maxResumeBytes = 640

// errCursorInvalid is a sealed cursor that this deployment did not issue
// for this caller and listing, or that was altered.
var errCursorInvalid = errors.New("cursor invalid")

// resumePoint is where a listing goes on when the cursor it could show
// would be a name hidden from the caller: the upstream's cursor, and, with
// delimiter=/, the prefix already answered (its names are skipped).
type resumePoint struct {
	upstream string
	prefix   string
}

// cursorSealer seals resume points into opaque cursors under one key: a
// sealed cursor reveals nothing and cannot be forged. It opens what its
// key sealed and, after a switch of keys (see cursorKeyring), what the
// previous one did.
type cursorSealer struct {
	secret   []byte // the key's source, offered to the other replicas
	aead     cipher.AEAD
	previous cipher.AEAD // opens only; nil when there is none
	shared   bool        // secret is the deployment's, as the shared tier holds it
}

// newCursorSealer draws a fresh key: this process's own.
func newCursorSealer() *cursorSealer {
	secret := make([]byte, MinCursorKeyBytes)
	// crypto/rand.Read never fails on the platforms Go supports (it
	// crashes the program instead), so there is no error to handle.
	_, _ = rand.Read(secret)
	return sealerFor(secret)
}

// cursorKeyInfo labels the derivation of the cursor key: a secret used
// for anything else never yields this key.
const cursorKeyInfo = "regapi listing cursor key v1"

// sealerFor returns the sealer whose AES-256-GCM key is derived from
// secret (at least MinCursorKeyBytes; any longer secret works alike).
func sealerFor(secret []byte) *cursorSealer {
	key, err := hkdf.Key(sha256.New, secret, nil, cursorKeyInfo, 32)
	if err != nil {
		panic("handlers: hkdf: " + err.Error()) // 32 bytes of SHA-256 is far below its limit
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("handlers: aes key: " + err.Error()) // 32 bytes is a valid key
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("handlers: gcm: " + err.Error()) // AES has a 16-byte block
	}
	return &cursorSealer{secret: secret, aead: aead}
}

// cursorBinding is what a sealed cursor is issued for: the caller, and the
// listing (registry, path, delimiter). Sealed as GCM's additional data, it
// makes a cursor replayed under another caller or listing fail to open.
type cursorBinding struct {
	principal string
	anonymous bool
	registry  string
	base      string
	delimited bool
}

func (b cursorBinding) bytes() []byte {
	flags := []byte{'0', '0'}
	if b.anonymous {
		flags[0] = '1'
	}
	if b.delimited {
		flags[1] = '1'
	}
	return []byte("regapi-list-cursor-v1\x00" + b.principal + "\x00" + string(flags) + "\x00" + b.registry + "\x00" + b.base)
}

// seal returns the opaque cursor of p under b.
func (s *cursorSealer) seal(b cursorBinding, p resumePoint) string {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce) // see newCursorSealer
	// Names never hold a NUL byte, so it separates the two fields.
	out := s.aead.Seal(nonce, nonce, []byte(p.upstream+"\x00"+p.prefix), b.bytes())
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(out)
}

// isSealed reports whether a caller's last is a sealed cursor.
func isSealed(last string) bool { return strings.HasPrefix(last, sealedPrefix) }

// open returns the resume point sealed in cursor, or errCursorInvalid.
func (s *cursorSealer) open(b cursorBinding, cursor string) (resumePoint, error) {
	if len(cursor) > maxSealedCursor {
		return resumePoint{}, errCursorInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(cursor, sealedPrefix))
	if err != nil || len(raw) < s.aead.NonceSize() {
		return resumePoint{}, errCursorInvalid
	}
	n := s.aead.NonceSize() // GCM's, whatever the key
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], b.bytes())
	if err != nil && s.previous != nil {
		plain, err = s.previous.Open(nil, raw[:n], raw[n:], b.bytes())
	}
	if err != nil {
		return resumePoint{}, errCursorInvalid
	}
	up, prefix, ok := strings.Cut(string(plain), "\x00")
	if !ok || up == "" {
		return resumePoint{}, errCursorInvalid
	}
	return resumePoint{upstream: up, prefix: prefix}, nil
}
