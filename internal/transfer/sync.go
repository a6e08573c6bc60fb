package transfer

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
)

// Sync defaults and bounds.
const (
	defaultSyncConcurrency = 4
	// maxSyncConcurrency keeps one sync from opening more connections to a
	// registry than a polite client would (Docker pushes 5 layers at once).
	maxSyncConcurrency = 32
)

// SyncOptions adjusts Sync. The zero value copies every missing tag, whole,
// four at a time.
type SyncOptions struct {
	// TagPattern selects the source tags to sync, with MatchString (so it is
	// unanchored unless the pattern says ^…$). Nil selects every tag.
	TagPattern *regexp.Regexp
	// Concurrency is how many tags are copied at once. The default value is
	// 4; values above 32 are lowered to 32.
	Concurrency int
	// Platform copies only that platform's image from a source index (and
	// compares digests of that platform). Nil copies indexes whole.
	Platform *v1.Platform
	// Overwrite re-copies a tag the destination has with a different
	// digest. By default such a tag is skipped with ReasonDiffers.
	Overwrite bool
}

// Status is the outcome of syncing one tag.
type Status string

// The outcomes of syncing one tag.
const (
	StatusCopied  Status = "copied"
	StatusSkipped Status = "skipped"
	StatusFailed  Status = "failed"
)

// Reasons a tag is skipped.
const (
	// ReasonExists: the destination has the tag with the source's digest.
	ReasonExists = "exists"
	// ReasonDiffers: the destination has the tag with another digest, and
	// SyncOptions.Overwrite is off.
	ReasonDiffers = "exists with different digest"
)

// Event reports what happened to one tag. It marshals to one NDJSON line.
type Event struct {
	Tag    string `json:"tag"`
	Status Status `json:"status"`
	// Digest is the digest copied, or the source's digest of a skipped tag.
	Digest string `json:"digest,omitempty"`
	// Reason says why a tag was skipped.
	Reason string `json:"reason,omitempty"`
	// Error says why a tag failed: Err's text. It comes from the registry
	// client, whose errors carry no credentials but do carry upstream
	// hosts and addresses: a server shows the caller its own words for
	// Err (see StepError) and logs Error.
	Error string `json:"error,omitempty"`
	// Err is the failure, a *StepError; it is not marshalled.
	Err error `json:"-"`
}

// StepError is a failed step of a sync: Step names it in the caller's
// terms ("copy tag v1", "list source tags"), Err is the cause.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// failed is the event of a tag whose step failed with err.
func failed(tag, step string, err error) Event {
	se := &StepError{Step: step, Err: err}
	return Event{Tag: tag, Status: StatusFailed, Error: se.Error(), Err: se}
}

// Summary counts the outcomes of a Sync.
type Summary struct {
	Copied  int `json:"copied"`
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
}

// Sync copies the tags of src that dst lacks into dst, under the same names.
//
// It lists every tag of both (a destination repository that does not exist
// yet has none), keeps the source tags TagPattern matches, and copies the
// missing ones with src.CopyImage, Concurrency at a time. A tag dst already
// has is compared by digest and skipped (ReasonExists, or ReasonDiffers
// unless Overwrite is set).
//
// emit is called once per tag as each finishes, always from Sync's own
// goroutine, so it needs no locking and may write to a stream. A failed tag
// is reported and the others go on; Sync's error is for what stops the whole
// sync: a failed listing (a *StepError), or ctx ending (then tags not yet
// started are not reported).
func Sync(ctx context.Context, src, dst registry.Client, opts SyncOptions, emit func(Event)) (Summary, error) {
	srcTags, err := src.ListTags(ctx)
	if err != nil {
		return Summary{}, &StepError{Step: "list source tags", Err: err}
	}
	dstTags, err := dst.ListTags(ctx)
	if err != nil && !errors.Is(err, registry.ErrImageNotFound) {
		return Summary{}, &StepError{Step: "list destination tags", Err: err}
	}
	have := make(map[string]bool, len(dstTags))
	for _, t := range dstTags {
		have[t] = true
	}
	var tags []string
	for _, t := range srcTags {
		if opts.TagPattern == nil || opts.TagPattern.MatchString(t) {
			tags = append(tags, t)
		}
	}
	slices.Sort(tags)
	tags = slices.Compact(tags)

	s := syncer{src: src, dst: dst, opts: opts}
	if opts.Platform != nil {
		s.get = []registry.ImageGetOption{registry.WithPlatform{Platform: opts.Platform}}
	}
	var sum Summary
	for ev := range s.run(ctx, tags, have) {
		switch ev.Status {
		case StatusCopied:
			sum.Copied++
		case StatusSkipped:
			sum.Skipped++
		default:
			sum.Failed++
		}
		if emit != nil {
			emit(ev)
		}
	}
	return sum, ctx.Err()
}

// syncer holds what every tag's copy needs.
type syncer struct {
	src, dst registry.Client
	opts     SyncOptions
	get      []registry.ImageGetOption
}

// run syncs tags on a pool of workers and returns the channel their events
// arrive on; it is closed once every started tag is done.
func (s syncer) run(ctx context.Context, tags []string, have map[string]bool) <-chan Event {
	n := s.opts.Concurrency
	if n <= 0 {
		n = defaultSyncConcurrency
	}
	n = min(n, maxSyncConcurrency, max(len(tags), 1))

	jobs := make(chan string)
	events := make(chan Event)
	go func() {
		defer close(jobs)
		for _, t := range tags {
			select {
			case jobs <- t:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for t := range jobs {
				events <- s.one(ctx, t, have[t])
			}
		})
	}
	go func() {
		wg.Wait()
		close(events)
	}()
	return events
}

// one syncs one tag; exists says the destination lists it.
func (s syncer) one(ctx context.Context, tag string, exists bool) Event {
	if exists {
		same, digest, step, err := s.sameDigest(ctx, tag)
		switch {
		case err != nil:
			return failed(tag, step, err)
		case same:
			return Event{Tag: tag, Status: StatusSkipped, Digest: digest, Reason: ReasonExists}
		case !s.opts.Overwrite:
			return Event{Tag: tag, Status: StatusSkipped, Digest: digest, Reason: ReasonDiffers}
		}
	}
	h, err := s.src.CopyImage(ctx, tag, s.dst, tag, s.get...)
	if err != nil {
		return failed(tag, "copy tag "+tag, err)
	}
	return Event{Tag: tag, Status: StatusCopied, Digest: h.String()}
}

// sameDigest compares the digests tag has at the source and the destination
// and returns the source's; on failure, the step that failed.
func (s syncer) sameDigest(ctx context.Context, tag string) (bool, string, string, error) {
	sh, err := s.src.GetDigest(ctx, tag, s.get...)
	if err != nil {
		return false, "", "read the source digest of tag " + tag, err
	}
	dh, err := s.dst.GetDigest(ctx, tag, s.get...)
	if err != nil {
		return false, "", "read the destination digest of tag " + tag, err
	}
	return *sh == *dh, sh.String(), "", nil
}
