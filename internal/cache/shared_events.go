package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Events on the tier's channel, one byte each, followed by the sending
// replica's id, a nonce and the payload, separated by spaces (the payload,
// last, may hold anything):
//
//	P  purge: drop the entries under the payload prefix
//	I  invalidate: drop what a write to the payload location changed
//	A  acknowledge: the nonce's purge or invalidation is done here
//	F  filled: the fetch of the payload key is over, its answer stored
//	X  failed: the fetch of the payload key is over, without an answer
const (
	evPurge      = 'P'
	evInvalidate = 'I'
	evAck        = 'A'
	evFilled     = 'F'
	evFailed     = 'X'
)

// ackWait bounds how long a write or purge waits for the other replicas to
// confirm that they dropped their copies. Confirmation takes a round trip
// to the server; the bound only matters when a replica is stuck or gone
// without its subscription having noticed.
const ackWait = 500 * time.Millisecond

// eventBuffer is how many events wait for the loop; the server drops a
// subscriber that falls far behind, and the subscription then reconnects.
const eventBuffer = 256

// subscribe starts the event loop. The subscription reconnects by itself
// when the server goes away and comes back. The loop belongs to the Cache,
// not to the caller of New: it starts from context.Background and Close
// ends it.
//
// Events published while the subscription is not in place are lost, and one
// of them may have been an invalidation. The first confirmation is awaited
// here, for at most the tier's timeout; every confirmation after it (a
// subscription back after a drop, or the first one of a replica that started
// with the server away and served from memory meanwhile) drops what an event
// could have changed (resync).
//
//nolint:contextcheck // see above: no caller context to inherit.
func (s *shared) subscribe() {
	s.events = s.rdb.Subscribe(context.Background(), s.channel())
	// Best effort: without a confirmation now, the first one comes over
	// the channel and resyncs.
	_, _ = s.events.ReceiveTimeout(context.Background(), s.timeout)
	ch := s.events.ChannelWithSubscriptions(redis.WithChannelSize(eventBuffer))
	go func() {
		defer close(s.done)
		for msg := range ch {
			switch m := msg.(type) {
			case *redis.Message:
				s.handle(m.Payload)
			case *redis.Subscription:
				if m.Kind == "subscribe" {
					s.resync()
				}
			}
		}
	}()
}

// resync drops from memory every answer a missed event could have made
// wrong: tag-addressed answers, listings and not-found answers. Answers
// read by digest never change and stay.
func (s *shared) resync() {
	s.c.drop(func(e *entry) bool { return e.mutable() || e.err != nil })
	s.m.resyncs.Inc()
	if f := s.onResync.Load(); f != nil {
		(*f)()
	}
}

func (s *shared) handle(msg string) {
	if len(msg) < 2 {
		return
	}
	parts := strings.SplitN(msg[1:], " ", 3)
	if len(parts) != 3 {
		return
	}
	from, nonce, payload := parts[0], parts[1], parts[2]
	ctx := context.Background()
	switch msg[0] {
	case evPurge, evInvalidate:
		if from != s.id {
			if msg[0] == evPurge {
				s.c.purgeLocal(payload)
			} else {
				s.c.invalidateLocal(payload)
			}
		}
		// Best effort: a lost ack only makes the sender wait out ackWait.
		_, _ = s.publish(ctx, evAck, nonce, "")
	case evAck:
		s.mu.Lock()
		ch := s.acks[nonce]
		s.mu.Unlock()
		if ch != nil {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	case evFilled, evFailed:
		s.wake(payload, msg[0] == evFilled)
	}
}

// publish sends one event and returns how many subscribers got it.
func (s *shared) publish(ctx context.Context, ev byte, nonce, payload string) (int64, error) {
	if nonce == "" {
		nonce = "-"
	}
	var n int64
	err := s.call(ctx, callPublish, func(ctx context.Context) error {
		var err error
		n, err = s.rdb.Publish(ctx, s.channel(), string(ev)+s.id+" "+nonce+" "+payload).Result()
		return err
	})
	return n, err
}

// notify tells every replica's waiters that key's fetch is over.
func (s *shared) notify(ctx context.Context, key string, filled bool) {
	ev := byte(evFailed)
	if filled {
		ev = evFilled
	}
	// Best effort: a waiter that misses it falls back to its own fetch.
	_, _ = s.publish(ctx, ev, "", key)
}

// broadcast sends a purge or an invalidation and waits, at most ackWait,
// until every subscriber (this replica included) has handled it.
func (s *shared) broadcast(ctx context.Context, ev byte, payload string) {
	b := make([]byte, 8)
	rand.Read(b)
	nonce := hex.EncodeToString(b)
	ch := make(chan struct{}, 64)
	s.mu.Lock()
	s.acks[nonce] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.acks, nonce)
		s.mu.Unlock()
	}()
	n, err := s.publish(ctx, ev, nonce, payload)
	if err != nil {
		return
	}
	timer := time.NewTimer(ackWait)
	defer timer.Stop()
	for ; n > 0; n-- {
		select {
		case <-ch:
		case <-timer.C:
			s.m.ackTimeouts.Inc()
			return
		}
	}
}

// generationTTL is how long a location's generation outlives its last
// write: far longer than any load runs (WithLoadTimeout), so that a load
// never sees it vanish and start again from nothing.
const generationTTL = time.Hour

// invalidate deletes what a write to loc changed from the tier, then has
// every replica drop it from memory: the location's mutable and not-found
// entries and the repository lists of it and its parents. The generations
// of loc and its parents count up in the same transaction that lists the
// keys, so that a load that read the generation before it cannot store its
// answer after it (storeIfCurrent): each store lands either before, and is
// listed and deleted, or after, and is refused.
func (s *shared) invalidate(ctx context.Context, loc string) {
	sets := []string{s.prefix + nsIndex + loc}
	var locs []string
	for a := loc; ; {
		locs = append(locs, a)
		sets = append(sets, s.prefix+nsRepoIndex+a)
		i := strings.LastIndexByte(a, '/')
		if i < 0 {
			break
		}
		a = a[:i]
	}
	var members []*redis.StringSliceCmd
	// Best effort: call counts a failure and marks the tier down.
	_ = s.call(ctx, callDelete, func(ctx context.Context) error {
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, a := range locs {
				p.Incr(ctx, s.prefix+nsGeneration+a)
				p.PExpire(ctx, s.prefix+nsGeneration+a, generationTTL)
			}
			for _, set := range sets {
				members = append(members, p.SMembers(ctx, set))
			}
			return nil
		})
		return err
	})
	keys := []string{sets[0]}
	for _, m := range members {
		for _, k := range m.Val() {
			keys = append(keys, s.entryKey(k))
		}
	}
	s.unlink(ctx, keys)
	s.broadcast(ctx, evInvalidate, loc)
}

// purgeBound bounds the scan of a purge, which walks the server's keys.
const purgeBound = 5 * time.Second

// purge deletes the tier's keys under prefix ("" for all of this
// deployment's) and has every replica drop its memory copies. It returns how
// many keys it deleted.
func (s *shared) purge(ctx context.Context, prefix string) int {
	ctx, cancel := context.WithTimeout(ctx, purgeBound)
	defer cancel()
	// Generations stay: they only ever count up, so that a load that read
	// one before the purge cannot store after it.
	var patterns []string
	for _, ns := range []string{nsEntry, nsIndex, nsRepoIndex, nsLease} {
		base := globEscape(s.prefix + ns)
		if prefix == "" {
			patterns = append(patterns, base+"*")
			continue
		}
		base += globEscape(prefix)
		patterns = append(patterns, base, base+"[/\x00]*")
	}
	n := 0
	for _, pattern := range patterns {
		var cursor uint64
		for {
			var keys []string
			err := s.call(ctx, callScan, func(ctx context.Context) error {
				var err error
				keys, cursor, err = s.rdb.Scan(ctx, cursor, pattern, 1000).Result()
				return err
			})
			if err != nil {
				break
			}
			// The channel is a pub/sub name, not a key; nothing else
			// under the prefix is spared.
			n += s.unlink(ctx, keys)
			if cursor == 0 {
				break
			}
		}
	}
	s.broadcast(ctx, evPurge, prefix)
	return n
}

// unlink deletes keys in batches and returns how many existed.
func (s *shared) unlink(ctx context.Context, keys []string) int {
	n := 0
	for len(keys) > 0 {
		batch := keys[:min(len(keys), 500)]
		keys = keys[len(batch):]
		// Best effort: call counts a failure and marks the tier down.
		_ = s.call(ctx, callDelete, func(ctx context.Context) error {
			d, err := s.rdb.Unlink(ctx, batch...).Result()
			n += int(d)
			return err
		})
	}
	return n
}

// globEscape quotes the characters SCAN's MATCH treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
