package handlers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/regapi/regapi/internal/registry"
)

// summarizeEntries fills in each entry's digest and summary: the digest
// its tag points at, by HEAD (the cache remembers it for the tag TTL), then
// one summary per distinct digest (manifests and configs by digest, cached
// for good). A HEAD rather than a GET by tag: registries such as Docker Hub
// count manifest GETs, not HEADs, against their pull limits, so a tag costs
// a pull only for a digest never seen, and aliases share it.
// Work is bounded per upstream by in.slots. A tag deleted since the tag
// list was read is left without a summary and so without a row; a tag
// whose HEAD or summary failed otherwise gets that error (every tag of a
// digest the same one), and the others go on. The error returned is the
// request's end.
func (in *insight) summarizeEntries(ctx context.Context, t repoTarget, entries []*tableEntry) error {
	c := t.client()
	errs, err := in.eachRow(ctx, t.Registry, len(entries), func(ctx context.Context, i int) error {
		h, err := c.GetDigest(ctx, entries[i].tag)
		if errors.Is(err, registry.ErrImageNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("get digest of %s: %w", entries[i].tag, err)
		}
		entries[i].digest = h.String()
		return nil
	})
	if err != nil {
		return err
	}
	var unique []string
	seen := map[string]bool{}
	for i, e := range entries {
		e.err = errs[i]
		if e.digest != "" && !seen[e.digest] {
			seen[e.digest] = true
			unique = append(unique, e.digest)
		}
	}
	sums := make([]*imageSummary, len(unique))
	errs, err = in.eachRow(ctx, t.Registry, len(unique), func(ctx context.Context, i int) error {
		s, err := in.summary(ctx, t, unique[i])
		sums[i] = s
		return err
	})
	if err != nil {
		return err
	}
	at := make(map[string]int, len(unique))
	for i, d := range unique {
		at[d] = i
	}
	for _, e := range entries {
		if e.digest != "" {
			i := at[e.digest]
			e.sum, e.err = sums[i], errs[i]
		}
	}
	return nil
}

// rowFailStreak is how many rows may fail in a row, with no row described
// between them, as an upstream that is down or hanging fails them
// (UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT), before a table stops asking the
// upstream for the rows not yet started. Without it such an upstream would
// cost a timeout (and its retries) per tag where one failure used to end the
// table; with it, about two waves of the default concurrency. One broken
// tag among healthy ones never reaches it.
const rowFailStreak = 16

// eachRow runs f for 0 ≤ i < n on up to cfg.Concurrency goroutines, each
// call holding one of upstream's slots. A failing call fails only its own
// row: errs[i] is call i's error and the other calls go on. The rows not
// yet started fail without asking the upstream once it is rate-limiting
// regapi (a 429 after retries: it asked for a pause) or after
// rowFailStreak failures that say it is unwell; their error wraps the one
// that stopped the table, so they answer its problem code. err is the
// cause of ctx's end when ctx ended first: the caller went away, or each
// stopped the calls.
func (in *insight) eachRow(ctx context.Context, upstream string, n int, f func(ctx context.Context, i int) error) (errs []error, err error) {
	errs = make([]error, n)
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		streak int
		halt   error // once set, the rows not started fail with it
	)
	record := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			streak = 0
			return
		}
		if halt != nil {
			return
		}
		switch code, _, _ := classifyCode(err); code {
		case codeTooManyRequests:
			halt = fmt.Errorf("not asked: the upstream is rate-limiting: %w", err)
		case codeUpstreamUnavailable, codeUpstreamTimeout:
			// The upstream as a whole does not answer (a 5xx, a refused
			// connection, a timeout), rather than one tag being broken.
			if streak++; streak >= rowFailStreak {
				halt = fmt.Errorf("not asked after %d failures in a row: %w", streak, err)
			}
		}
	}
	halted := func() error {
		mu.Lock()
		defer mu.Unlock()
		return halt
	}
	for range min(n, in.cfg.Concurrency) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := halted(); err != nil {
					errs[i] = err
					continue
				}
				release, err := in.slots.acquire(ctx, upstream)
				if err != nil {
					return // ctx ended
				}
				errs[i] = callRecovering(ctx, i, f)
				release()
				record(errs[i])
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return errs, nil
}

// rowError says why a row of the table could not be described: the code
// and detail writeError would answer for the same failure. The detail is
// regapi's own wording, never the client's error text, which names
// upstream addresses.
type rowError struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// rowErrorOf is err as a row's error.
func rowErrorOf(err error) *rowError {
	p, _ := classify(err)
	return &rowError{Code: p.Code, Detail: p.Detail}
}

// tableOutcome counts the entries a table computed rows for: described,
// failed, and the first failure (in the entries' order), which is the
// table's answer when nothing could be described.
type tableOutcome struct {
	described, failed int
	first             error
}

// outcomeOf counts entries; a tag that vanished is neither described nor
// failed.
func outcomeOf(entries []*tableEntry) tableOutcome {
	var o tableOutcome
	for _, e := range entries {
		switch {
		case e.err != nil:
			if o.failed++; o.first == nil {
				o.first = e.err
			}
		case e.sum != nil:
			o.described++
		}
	}
	return o
}

// allFailed reports whether no row could be described while some failed:
// the table is then the first failure, as a single failure used to make
// it.
func (o tableOutcome) allFailed() bool { return o.described == 0 && o.failed > 0 }
