package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is go-containerregistry's in-memory registry on a loopback
// port, behind the pagination shim (see paginated) and seeded with the
// demo's content.
type Registry struct {
	// Host is the registry's 127.0.0.1:port.
	Host string
	// Refs is how many repository:tag references were seeded.
	Refs int
	srv  *http.Server
}

// seedJobs is how many uploads run at once while seeding; the registry
// is in-process, so a few are enough to keep both sides busy.
const seedJobs = 4

// Start listens on a free port of 127.0.0.1, serves the registry there and
// seeds it; ctx bounds the seeding only. Close stops it.
func Start(ctx context.Context) (*Registry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true))
	d := &Registry{
		Host: ln.Addr().String(),
		srv:  &http.Server{Handler: paginated(reg), ReadHeaderTimeout: 10 * time.Second},
	}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("regapi demo registry: %v", err)
		}
	}()
	if err := d.seed(ctx); err != nil {
		_ = d.Close() // the seed error is the one to report
		return nil, err
	}
	return d, nil
}

// seed pushes buildContent over loopback HTTP.
func (d *Registry) seed(ctx context.Context) error {
	content, err := buildContent()
	if err != nil {
		return err
	}
	todo := make(map[name.Reference]remote.Taggable, len(content))
	for ref, t := range content {
		r, err := name.ParseReference(d.Host+"/"+ref, name.Insecure, name.StrictValidation)
		if err != nil {
			return fmt.Errorf("seed %s: %w", ref, err)
		}
		todo[r] = t
	}
	// A private transport: no proxy from the environment, and its idle
	// connections go away with the seeding.
	tr := &http.Transport{MaxIdleConnsPerHost: seedJobs}
	defer tr.CloseIdleConnections()
	if err := remote.MultiWrite(todo, remote.WithContext(ctx), remote.WithTransport(tr), remote.WithJobs(seedJobs)); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if err := seedReferrers(ctx, d.Host, tr, content); err != nil {
		return err
	}
	d.Refs = len(todo)
	return nil
}

// Close stops the registry at once; its content is gone.
func (d *Registry) Close() error {
	return d.srv.Close()
}
