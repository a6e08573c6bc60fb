package handlers

import (
	"bytes"
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// MinCursorKeyBytes is the least secret Config.CursorKey may hold: as much
// as the AES-256 key derived from it.
const MinCursorKeyBytes = 32

// SharedSecrets is where the replicas of a deployment agree on a secret:
// the shared cache tier (cache.Cache.SharedSecret).
type SharedSecrets interface {
	// SharedSecret returns the secret stored under name, storing
	// candidate there first when there is none, so that every replica
	// gets the first one stored. An error means the store did not answer
	// (or holds something else): the caller goes on with what it has.
	SharedSecret(ctx context.Context, name string, candidate []byte) ([]byte, error)
}

// cursorKeyName is the cursor key's name in SharedSecrets.
const cursorKeyName = "cursor-key"

// Asking the shared tier for the deployment's key: every retryEvery while
// this process seals with its own key (a tier that is down costs one bound
// call a second, as the cache's own lookups do), then every refreshEvery,
// so that a key lost with the tier's data (a restart without persistence,
// an eviction) is stored again, or replaced by the one another replica
// stored meanwhile, within a minute.
const (
	retryEvery   = time.Second
	refreshEvery = time.Minute
)

// cursorKeyring hands out the sealer of the repositories route. With a
// configured key, or without a shared tier, it is fixed; otherwise it
// starts with this process's own key and switches to the deployment's once
// the tier answers, keeping the key it had for opening what it sealed.
// The tier is asked only when a sealed cursor is issued or opened, never
// on other requests.
type cursorKeyring struct {
	current atomic.Pointer[cursorSealer]
	shared  SharedSecrets // nil: current never changes
	logger  *slog.Logger
	now     func() time.Time

	due    atomic.Int64 // unix nanoseconds: when to ask the tier next
	asking atomic.Bool  // one request asks at a time; the others go on
	warned bool         // written only while asking is held
}

// newCursorKeyring returns the keyring of key (at least
// MinCursorKeyBytes; see Config.CursorKey) or, without one, of shared.
func newCursorKeyring(key []byte, shared SharedSecrets, logger *slog.Logger) *cursorKeyring {
	k := &cursorKeyring{logger: logger, now: time.Now}
	if len(key) > 0 {
		if len(key) < MinCursorKeyBytes {
			panic("handlers: Config.CursorKey holds fewer than MinCursorKeyBytes") // the configuration checks it
		}
		k.current.Store(sealerFor(bytes.Clone(key)))
		return k
	}
	k.shared = shared
	k.current.Store(newCursorSealer())
	return k
}

// sealer returns the sealer to use now, first asking the shared tier for
// the deployment's key when that is due.
func (k *cursorKeyring) sealer(ctx context.Context) *cursorSealer {
	if k.shared == nil || k.now().UnixNano() < k.due.Load() || !k.asking.CompareAndSwap(false, true) {
		return k.current.Load()
	}
	defer k.asking.Store(false)
	s := k.current.Load()
	if k.now().UnixNano() < k.due.Load() {
		return s // another request has just asked
	}
	// The answer serves the process, not only this request: a caller that
	// goes away does not cut it short (the tier's timeout bounds it).
	got, err := k.shared.SharedSecret(context.WithoutCancel(ctx), cursorKeyName, s.secret)
	if err != nil {
		if !s.shared {
			k.due.Store(k.now().Add(retryEvery).UnixNano())
			if !k.warned {
				k.warned = true
				// err names the tier's failure, never a key.
				k.logger.WarnContext(ctx, "listing cursors: the shared cache tier did not answer for the deployment's key; "+
					"this replica seals with a key of its own, which other replicas refuse, until it does", "err", err)
			}
			return s
		}
		k.due.Store(k.now().Add(refreshEvery).UnixNano())
		return s // the deployment's key, as last read: still the one to use
	}
	k.due.Store(k.now().Add(refreshEvery).UnixNano())
	var next *cursorSealer
	switch {
	case !bytes.Equal(got, s.secret):
		next = sealerFor(got)
		next.previous = s.aead // opens what this replica sealed so far
	case s.shared:
		return s
	default: // this process's key is the one the tier stored
		c := *s
		next = &c
	}
	next.shared = true
	k.current.Store(next)
	k.logger.InfoContext(ctx, "listing cursors: sealed with the deployment's key from the shared cache tier")
	return next
}
