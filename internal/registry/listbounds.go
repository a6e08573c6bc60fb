package registry

import (
	"fmt"
)

// Bounds on one listing (every page ListTags or ListRepositories follows,
// or the catalog pages one ListRepositoriesPage scans), whatever the
// registry sends. A registry can answer every page with a full page and a
// fresh cursor forever; without these, one anonymous request grew the
// process by gigabytes in seconds. Past any of them the listing fails with
// ErrUpstreamInvalid.
const (
	// maxListEntries caps the names one listing reads. Docker Hub's
	// largest repositories have tens of thousands of tags; 100,000 leaves
	// them room while keeping a listing's slice headers at 1.6 MB.
	maxListEntries = 100_000
	// maxListBytes caps the bytes of the names and cursors one listing
	// reads. For tags (at most 128 bytes each) maxListEntries binds first,
	// at 12.8 MB; repository names may have 255 bytes, and for them this
	// binds at about 66,000 names of that length.
	maxListBytes = 16 << 20
	// maxListPages caps the pages one listing requests, so that a registry
	// sending few or no names a page costs neither endless requests nor
	// endless cursors kept to detect loops: maxListEntries at 50 a page.
	// Registries answer n=1000 with 1000 names or with a page size of
	// their own, which this assumes is 50 or more.
	maxListPages = 2_000
	// maxCursorBytes caps the "last" of a Link header. A cursor is a tag
	// or a repository name (at most 255 bytes) for most registries and an
	// opaque token for some (ECR); the response header limit (10 MB by
	// default) is no bound on what is kept.
	maxCursorBytes = 4096
)

// listBudget is what is left of one listing's bounds. The zero value is a
// fresh budget.
type listBudget struct {
	entries, bytes, pages int
}

// charge counts one page of names and the cursor it ends with, and fails
// with ErrUpstreamInvalid once the listing is past a bound.
func (b *listBudget) charge(names []string, cursor string) error {
	b.pages++
	b.entries += len(names)
	b.bytes += len(cursor)
	for _, n := range names {
		b.bytes += len(n)
	}
	switch {
	case b.pages > maxListPages:
		return fmt.Errorf("%w: listing goes on past %d pages", ErrUpstreamInvalid, maxListPages)
	case b.entries > maxListEntries:
		return fmt.Errorf("%w: listing goes on past %d names", ErrUpstreamInvalid, maxListEntries)
	case b.bytes > maxListBytes:
		return fmt.Errorf("%w: listing goes on past %d bytes of names", ErrUpstreamInvalid, maxListBytes)
	}
	return nil
}

// checkTags refuses a page of tags holding one that breaks the OCI tag
// grammar. The whole page is refused rather than the tag dropped: a
// registry keeping to the distribution spec cannot store such a tag, so it
// shows a broken or hostile upstream, and a listing that silently lacked
// entries would be a wrong answer (a sync that skips a tag, a table
// without its row) where a 502 tells. The tag is not quoted: its bytes
// are the upstream's, and errors reach logs and answers.
func checkTags(tags []string) error {
	for i, t := range tags {
		if !ValidTag(t) {
			return fmt.Errorf("%w: tag %d of the page (%d bytes) breaks the OCI tag grammar", ErrUpstreamInvalid, i, len(t))
		}
	}
	return nil
}

// checkRepositories refuses a catalog page holding a name that breaks the
// OCI name grammar, for checkTags' reasons.
func checkRepositories(names []string) error {
	for i, n := range names {
		if validatePath(n) != nil {
			return fmt.Errorf("%w: repository %d of the catalog page (%d bytes) breaks the OCI name grammar", ErrUpstreamInvalid, i, len(n))
		}
	}
	return nil
}
