package registry

import (
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// defaultMaxRepos bounds how many repositories one Puller/Pusher pair
// serves. ggcr caches a fetcher (transport, token) per repository for good,
// so a service asked for ever new repository names (not-found ones included)
// would grow without end; past the bound a fresh pair takes over and the old
// one is garbage once its calls finish. The cost is one handshake per
// repository per generation.
const defaultMaxRepos = 4096

// remotes hands out ggcr's Puller and Pusher, renewing them when they have
// served maxRepos distinct repositories.
type remotes struct {
	opts     []remote.Option
	maxRepos int

	mu     sync.Mutex
	seen   map[string]struct{}
	puller *remote.Puller
	pusher *remote.Pusher
}

func newRemotes(opts []remote.Option) (*remotes, error) {
	r := &remotes{opts: opts, maxRepos: defaultMaxRepos}
	if err := r.renew(); err != nil {
		return nil, err
	}
	return r, nil
}

// renew replaces the pair; r.mu is held or r is not shared yet.
func (r *remotes) renew() error {
	puller, err := remote.NewPuller(r.opts...)
	if err != nil {
		return err
	}
	pusher, err := remote.NewPusher(r.opts...)
	if err != nil {
		return err
	}
	r.puller, r.pusher, r.seen = puller, pusher, map[string]struct{}{}
	return nil
}

// get returns the current pair for repo.
func (r *remotes) get(repo name.Repository) (*remote.Puller, *remote.Pusher) {
	key := repo.Name()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[key]; !ok {
		if len(r.seen) >= r.maxRepos {
			// Options were validated by newRemotes; renewing cannot fail.
			_ = r.renew()
		}
		r.seen[key] = struct{}{}
	}
	return r.puller, r.pusher
}

// puller returns the Puller for ref's repository.
func (s *shared) puller(ref name.Reference) *remote.Puller {
	p, _ := s.remotes.get(ref.Context())
	return p
}

// pusher returns the Pusher for ref's repository.
func (s *shared) pusher(ref name.Reference) *remote.Pusher {
	_, p := s.remotes.get(ref.Context())
	return p
}
