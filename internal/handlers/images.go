package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
)

// Images configures the image table (GET …/-/images), inspect
// (GET …/-/images/{reference}) and referrers. Zero fields take the defaults
// named on each.
type Images struct {
	// MaxRows is the most tags a table may compute a row for to answer a
	// sort or filter that needs every row (sort=created, digest=); a
	// repository with more tags answers those 400 TOO_MANY_TAGS. The
	// default value is 5000.
	MaxRows int
	// Concurrency bounds, per upstream and across requests, the rows (and
	// inspect children) computed at once, and so the upstream requests they
	// make. The default value is 8.
	Concurrency int
}

// Defaults of Images.
const (
	// DefaultMaxImageRows: a row costs a HEAD and, the first time a digest
	// is met, two GETs; 5000 rows is minutes of upstream work cold and a
	// few MiB of cache, and more than any repository a dashboard shows.
	DefaultMaxImageRows = 5000
	// defaultImageConcurrency is as many requests in flight to one
	// registry as a browser opens to one host, times a little: enough to
	// hide latency, few enough that no registry takes it for abuse.
	defaultImageConcurrency = 8
)

// withDefaults returns i with every zero field set.
func (i Images) withDefaults() Images {
	if i.MaxRows <= 0 {
		i.MaxRows = DefaultMaxImageRows
	}
	if i.Concurrency <= 0 {
		i.Concurrency = defaultImageConcurrency
	}
	return i
}

// Insight counts the image table's work; telemetry's *Insight satisfies it.
// RowsComputed counts rows built from manifests and configs (the summary
// memo's misses).
type Insight interface {
	RowsComputed(n int)
	// RowsFailed counts rows answered with an error (an incomplete table).
	RowsFailed(n int)
}

// noInsight counts nothing.
type noInsight struct{}

func (noInsight) RowsComputed(int) {}
func (noInsight) RowsFailed(int)   {}

// insightOr returns i, or an Insight that counts nothing when i is nil.
func insightOr(i Insight) Insight {
	if i == nil {
		return noInsight{}
	}
	return i
}

// upstreamSlots bounds the work in flight per upstream, shared by every
// request: one channel of n slots per upstream name.
type upstreamSlots struct {
	n  int
	mu sync.Mutex
	by map[string]chan struct{}
}

func newUpstreamSlots(n int) *upstreamSlots {
	return &upstreamSlots{n: n, by: map[string]chan struct{}{}}
}

// acquire waits for a slot of upstream name and returns its release, or
// fails when ctx ends first.
func (s *upstreamSlots) acquire(ctx context.Context, name string) (func(), error) {
	s.mu.Lock()
	ch := s.by[name]
	if ch == nil {
		ch = make(chan struct{}, s.n)
		s.by[name] = ch
	}
	s.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// insight holds what the image routes share.
type insight struct {
	logger  *slog.Logger
	cfg     Images
	slots   *upstreamSlots
	metrics Insight
	memo    *summaryMemo
}

func newInsight(logger *slog.Logger, cfg Images, metrics Insight, stores StoreMetrics) *insight {
	cfg = cfg.withDefaults()
	return &insight{
		logger: logger, cfg: cfg,
		slots: newUpstreamSlots(cfg.Concurrency), metrics: insightOr(metrics), memo: newSummaryMemo(evictedFunc(stores, storeImageSummaries)),
	}
}

// handleImages serves the images action: GET on the collection is the
// table, GET on a reference inspects it, PUT on a reference uploads.
func handleImages(table, inspect, upload http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := repoTargetFrom(r.Context())
		switch {
		case !t.Route.Reference:
			table.ServeHTTP(w, r)
		case r.Method == http.MethodPut:
			upload.ServeHTTP(w, r)
		default:
			inspect.ServeHTTP(w, r)
		}
	})
}

// each runs f for 0 ≤ i < n on up to cfg.Concurrency goroutines, each call
// holding one of upstream's slots. The first error cancels the calls not
// yet started and is returned.
func (in *insight) each(ctx context.Context, upstream string, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errs, err := in.eachRow(ctx, upstream, n, func(ctx context.Context, i int) error {
		err := f(ctx, i)
		if err != nil {
			cancel(err)
		}
		return err
	})
	if err != nil {
		return err
	}
	// A call that panicked failed without canceling.
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// callRecovering calls f, turning a panic into an error: the calls run on
// goroutines of their own, where the router's recovery cannot reach.
func callRecovering(ctx context.Context, i int, f func(ctx context.Context, i int) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("image summary panicked: %v", r)
		}
	}()
	return f(ctx, i)
}

// summary returns the summary of digest in t's repository, from the memo
// or worked out (and counted) from the client.
func (in *insight) summary(ctx context.Context, t repoTarget, digest string) (*imageSummary, error) {
	key := memoKey(t.Registry, t.Repository, digest)
	if s, ok := in.memo.get(key); ok {
		return s, nil
	}
	s, err := summarize(ctx, t.client(), digest)
	if err != nil {
		return nil, err
	}
	in.memo.put(key, s)
	in.metrics.RowsComputed(1)
	return s, nil
}
