package transfer

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// errInjected is the failure failingCopy injects.
var errInjected = errors.New("injected copy failure")

// failingCopy is a source client whose CopyImage fails for one tag: a fault a
// real registry cannot be made to show for exactly one tag.
type failingCopy struct {
	registry.Client
	tag   string
	calls atomic.Int32
}

func (f *failingCopy) CopyImage(ctx context.Context, ref string, dst registry.Client, tag string, opts ...registry.ImageGetOption) (*v1.Hash, error) {
	f.calls.Add(1)
	if ref == f.tag {
		return nil, errInjected
	}
	return f.Client.CopyImage(ctx, ref, dst, tag, opts...)
}

// recorder collects events and fails the test if emit is ever entered by two
// goroutines at once.
type recorder struct {
	t      testing.TB
	inside atomic.Bool
	events []Event
}

func (r *recorder) emit(e Event) {
	if !r.inside.CompareAndSwap(false, true) {
		r.t.Error("emit called concurrently")
	}
	r.events = append(r.events, e)
	r.inside.Store(false)
}

// byStatus returns the tags of the events with status s, sorted.
func (r *recorder) byStatus(s Status) []string {
	var tags []string
	for _, e := range r.events {
		if e.Status == s {
			tags = append(tags, e.Tag)
		}
	}
	slices.Sort(tags)
	return tags
}

// pushTags pushes n tags t00… to host/repo, cycling through a few images so
// that the copies share blobs as real tags do. It returns tag → digest.
func pushTags(t testing.TB, host, repo string, n int) map[string]v1.Hash {
	t.Helper()
	imgs := make([]v1.Image, 5)
	for i := range imgs {
		imgs[i] = registrytest.RandomImage(t, 1)
	}
	want := map[string]v1.Hash{}
	for i := range n {
		tag := fmt.Sprintf("t%02d", i)
		want[tag] = registrytest.Push(t, host+"/"+repo+":"+tag, imgs[i%len(imgs)])
	}
	return want
}

func TestSyncFiftyTags(t *testing.T) {
	srcHost := registrytest.NewDistribution(t, nil)
	dstHost := registrytest.NewDistribution(t, nil)
	want := pushTags(t, srcHost, "org/app", 50)
	src, dst := newClient(srcHost, "org/app"), newClient(dstHost, "mirror/app")

	// First run: one tag fails, the other 49 are copied.
	failing := &failingCopy{Client: src, tag: "t13"}
	rec := &recorder{t: t}
	start := time.Now()
	sum, err := Sync(t.Context(), failing, dst, SyncOptions{}, rec.emit)
	t.Logf("sync of 50 tags (one failing) took %s", time.Since(start))
	if err != nil {
		t.Fatalf("Sync = %v", err)
	}
	if got := (Summary{Copied: 49, Failed: 1}); sum != got {
		t.Errorf("Sync summary = %+v, want %+v", sum, got)
	}
	if len(rec.events) != 50 {
		t.Errorf("Sync emitted %d events, want 50", len(rec.events))
	}
	if got := rec.byStatus(StatusFailed); !slices.Equal(got, []string{"t13"}) {
		t.Errorf("failed tags = %q, want [t13]", got)
	}
	for _, e := range rec.events {
		switch {
		case e.Status == StatusFailed && !strings.Contains(e.Error, errInjected.Error()):
			t.Errorf("failed event = %+v, want the injected error", e)
		case e.Status == StatusCopied && e.Digest != want[e.Tag].String():
			t.Errorf("copied event %s digest = %s, want %s", e.Tag, e.Digest, want[e.Tag])
		}
	}
	tags, err := dst.ListTags(t.Context())
	if err != nil || len(tags) != 49 || slices.Contains(tags, "t13") {
		t.Errorf("destination tags = %q, %v, want the 49 other tags", tags, err)
	}
	for _, tag := range tags {
		got, err := dst.GetDigest(t.Context(), tag)
		if err != nil || *got != want[tag] {
			t.Errorf("destination %s = %v, %v, want %s", tag, got, err, want[tag])
		}
	}

	// Second run: the missing tag is copied, the rest skipped.
	rec = &recorder{t: t}
	sum, err = Sync(t.Context(), src, dst, SyncOptions{Concurrency: 8}, rec.emit)
	if err != nil || sum != (Summary{Copied: 1, Skipped: 49}) {
		t.Errorf("second Sync = %+v, %v, want 1 copied, 49 skipped", sum, err)
	}
	if got := rec.byStatus(StatusCopied); !slices.Equal(got, []string{"t13"}) {
		t.Errorf("second Sync copied %q, want [t13]", got)
	}

	// Third run: everything is there.
	rec = &recorder{t: t}
	start = time.Now()
	sum, err = Sync(t.Context(), failing, dst, SyncOptions{}, rec.emit)
	t.Logf("sync of 50 tags, all present, took %s", time.Since(start))
	if err != nil || sum != (Summary{Skipped: 50}) {
		t.Errorf("third Sync = %+v, %v, want 50 skipped", sum, err)
	}
	for _, e := range rec.events {
		if e.Reason != ReasonExists || e.Digest != want[e.Tag].String() {
			t.Errorf("third Sync event = %+v, want skipped: exists with digest %s", e, want[e.Tag])
		}
	}
	if n := failing.calls.Load(); n != 50 {
		t.Errorf("CopyImage called %d times over the runs through the wrapper, want 50", n)
	}
}

func TestSyncDifferentDigest(t *testing.T) {
	srcHost := registrytest.NewDistribution(t, nil)
	dstHost := registrytest.NewDistribution(t, nil)
	want := pushTags(t, srcHost, "org/app", 3)
	registrytest.PushRandomImage(t, dstHost, "org/app", "t01")
	src, dst := newClient(srcHost, "org/app"), newClient(dstHost, "org/app")

	tests := []struct {
		name      string
		overwrite bool
		want      Event
		sum       Summary
	}{
		{"kept", false, Event{Tag: "t01", Status: StatusSkipped, Digest: want["t01"].String(), Reason: ReasonDiffers}, Summary{Copied: 2, Skipped: 1}},
		{"overwritten", true, Event{Tag: "t01", Status: StatusCopied, Digest: want["t01"].String()}, Summary{Copied: 1, Skipped: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{t: t}
			sum, err := Sync(t.Context(), src, dst, SyncOptions{Overwrite: tc.overwrite}, rec.emit)
			if err != nil || sum != tc.sum {
				t.Errorf("Sync = %+v, %v, want %+v", sum, err, tc.sum)
			}
			i := slices.IndexFunc(rec.events, func(e Event) bool { return e.Tag == "t01" })
			if i < 0 || rec.events[i] != tc.want {
				t.Errorf("event for t01 = %+v, want %+v", rec.events, tc.want)
			}
		})
	}
	got, err := dst.GetDigest(t.Context(), "t01")
	if err != nil || *got != want["t01"] {
		t.Errorf("destination t01 = %v, %v, want %s after the overwrite", got, err, want["t01"])
	}
}

func TestSyncOptions(t *testing.T) {
	srcHost := registrytest.NewDistribution(t, nil)
	pushTags(t, srcHost, "org/app", 12)
	arm := v1.Platform{OS: "linux", Architecture: "arm64"}
	idx := registrytest.PushRandomIndex(t, srcHost, "org/app", "multi")
	src := newClient(srcHost, "org/app")

	t.Run("pattern", func(t *testing.T) {
		dst := newClient(registrytest.NewDistribution(t, nil), "org/app")
		rec := &recorder{t: t}
		sum, err := Sync(t.Context(), src, dst, SyncOptions{TagPattern: regexp.MustCompile(`^t0[0-4]$`), Concurrency: 100}, rec.emit)
		if err != nil || sum != (Summary{Copied: 5}) {
			t.Errorf("Sync = %+v, %v, want 5 copied", sum, err)
		}
		if got := rec.byStatus(StatusCopied); !slices.Equal(got, []string{"t00", "t01", "t02", "t03", "t04"}) {
			t.Errorf("copied %q, want t00…t04", got)
		}
	})
	t.Run("platform", func(t *testing.T) {
		dst := newClient(registrytest.NewDistribution(t, nil), "org/app")
		sum, err := Sync(t.Context(), src, dst, SyncOptions{TagPattern: regexp.MustCompile(`^multi$`), Platform: &arm}, nil)
		if err != nil || sum != (Summary{Copied: 1}) {
			t.Fatalf("Sync = %+v, %v, want 1 copied", sum, err)
		}
		im, _ := idx.IndexManifest()
		i := slices.IndexFunc(im.Manifests, func(d v1.Descriptor) bool { return d.Platform.Equals(arm) })
		got, err := dst.GetDigest(t.Context(), "multi")
		if err != nil || *got != im.Manifests[i].Digest {
			t.Errorf("destination multi = %v, %v, want the arm64 image %s", got, err, im.Manifests[i].Digest)
		}
		// The same platform again compares the child's digest: skipped.
		sum, err = Sync(t.Context(), src, dst, SyncOptions{TagPattern: regexp.MustCompile(`^multi$`), Platform: &arm}, nil)
		if err != nil || sum != (Summary{Skipped: 1}) {
			t.Errorf("second Sync = %+v, %v, want 1 skipped", sum, err)
		}
	})
	t.Run("missing source", func(t *testing.T) {
		dst := newClient(registrytest.NewDistribution(t, nil), "org/app")
		_, err := Sync(t.Context(), newClient(srcHost, "no/such"), dst, SyncOptions{}, nil)
		if !errors.Is(err, registry.ErrRepositoryNotFound) {
			t.Errorf("Sync(missing source) = %v, want ErrRepositoryNotFound", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		dst := newClient(registrytest.NewDistribution(t, nil), "org/app")
		ctx, cancel := context.WithCancel(t.Context())
		rec := &recorder{t: t}
		sum, err := Sync(ctx, src, dst, SyncOptions{Concurrency: 1}, func(e Event) {
			rec.emit(e)
			cancel() // after the first tag
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Sync = %v, want context.Canceled", err)
		}
		if n := sum.Copied + sum.Skipped + sum.Failed; n >= 13 || n != len(rec.events) {
			t.Errorf("cancelled Sync reported %d tags (%+v) in %d events, want fewer than all 13, one event each", n, sum, len(rec.events))
		}
	})
}
