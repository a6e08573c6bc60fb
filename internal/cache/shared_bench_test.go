package cache

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/regapi/regapi/internal/cache/redistest"
	"github.com/regapi/regapi/internal/registry"
	"github.com/regapi/regapi/internal/registry/registrytest"
)

// BenchmarkSharedTier prices one lookup served three ways, against a real
// redis-server and a CNCF distribution registry on loopback:
//
//   - memory-hit: the answer is in this replica's memory;
//   - shared-hit: it is not (the cache holds one entry and two keys
//     alternate), Redis has it: one pipelined GET+PTTL and a decode;
//   - cold-fetch: neither has it: the registry is asked (no shared tier).
//
// The lookup is a tag list (ListTags) and, for the digest-checked path, a
// manifest by digest (GetManifest).
//
//	go test -run '^$' -bench SharedTier -benchtime 2000x ./internal/cache/
func BenchmarkSharedTier(b *testing.B) {
	dist := registrytest.StartDistribution(b, nil)
	srv := redistest.Start(b)
	ctx := context.Background()
	var digests []string
	for _, repo := range []string{"org/a", "org/b"} {
		img := registrytest.PushRandomImage(b, dist.Host, repo, "v1")
		d, err := img.Digest()
		if err != nil {
			b.Fatal(err)
		}
		digests = append(digests, d.String())
	}
	base := registry.NewClientWithOptions(dist.Host, &registry.Options{Insecure: true, MaxRetries: -1})
	newCache := func(opts ...Option) registry.Client {
		c, err := New(append([]Option{WithRegisterer(prometheus.NewRegistry())}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if err := c.Close(); err != nil {
				b.Errorf("Close() = %v", err)
			}
		})
		return c.Wrap("hub", base)
	}
	type lookupFunc func(app registry.Client, i int) error
	lookups := map[string]lookupFunc{
		"tags": func(app registry.Client, _ int) error { _, err := app.ListTags(ctx); return err },
		"manifest": func(app registry.Client, i int) error {
			_, err := app.GetManifest(ctx, "@"+digests[i])
			return err
		},
	}
	for _, name := range []string{"tags", "manifest"} {
		lookup := lookups[name]
		sides := []struct {
			name string
			hub  registry.Client
			keys int // distinct keys cycled through
		}{
			{"memory-hit", newCache(), 1},
			{"shared-hit", newCache(WithShared(srv.URL, "", ""), WithMaxEntries(1)), 2},
			{"cold-fetch", newCache(WithMaxEntries(1)), 2},
		}
		// Fill Redis and the registry client's token and connections.
		warm := newCache(WithShared(srv.URL, "", ""))
		for i, repo := range []string{"org/a", "org/b"} {
			if err := lookup(warm.WithSegment(repo), i); err != nil {
				b.Fatal(err)
			}
		}
		for _, s := range sides {
			apps := []registry.Client{s.hub.WithSegment("org", "a"), s.hub.WithSegment("org", "b")}
			b.Run(name+"/"+s.name, func(b *testing.B) {
				for i := range 2 {
					if err := lookup(apps[i], i); err != nil {
						b.Fatal(err)
					}
				}
				dist.ResetRequests()
				n := 0
				b.ReportAllocs()
				for b.Loop() {
					i := n % s.keys
					if err := lookup(apps[i], i); err != nil {
						b.Fatal(err)
					}
					n++
				}
				b.ReportMetric(float64(len(dist.Requests()))/float64(n), "upstream-req/op")
			})
		}
	}
}

// BenchmarkFleetWorkload counts the registry requests of one mixed workload
// (tag lists, manifests by tag, configs by digest over 8 repositories, 600
// lookups from 12 callers spread over the replicas) on 1 and 3 replicas,
// with and without the shared tier. Each iteration starts every cache and
// Redis empty; upstream-req/workload is what the registry saw.
//
//	go test -run '^$' -bench FleetWorkload -benchtime 5x ./internal/cache/
func BenchmarkFleetWorkload(b *testing.B) {
	dist := registrytest.StartDistribution(b, nil)
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, DisableIdentity: true})
	b.Cleanup(func() {
		if err := rdb.Close(); err != nil {
			b.Errorf("redis Close() = %v", err)
		}
	})
	ctx := context.Background()
	const repos, lookups, callers = 8, 600, 12
	var digests []string
	for r := range repos {
		img := registrytest.PushRandomImage(b, dist.Host, fmt.Sprintf("org/app%d", r), "v1")
		d, err := img.Digest()
		if err != nil {
			b.Fatal(err)
		}
		digests = append(digests, d.String())
	}
	for _, replicas := range []int{1, 3} {
		for _, shared := range []bool{false, true} {
			name := fmt.Sprintf("replicas=%d/shared=%v", replicas, shared)
			b.Run(name, func(b *testing.B) {
				total := 0
				for b.Loop() {
					b.StopTimer()
					if err := rdb.FlushAll(ctx).Err(); err != nil {
						b.Fatal(err)
					}
					var hubs []registry.Client
					var caches []*Cache
					for range replicas {
						opts := []Option{WithRegisterer(prometheus.NewRegistry())}
						if shared {
							opts = append(opts, WithShared(srv.URL, "", ""))
						}
						c, err := New(opts...)
						if err != nil {
							b.Fatal(err)
						}
						caches = append(caches, c)
						hubs = append(hubs, c.Wrap("hub", registry.NewClientWithOptions(dist.Host, &registry.Options{Insecure: true, MaxRetries: -1})))
					}
					dist.ResetRequests()
					b.StartTimer()
					var wg sync.WaitGroup
					errs := make(chan error, callers)
					for w := range callers {
						wg.Go(func() {
							for n := w; n < lookups; n += callers {
								// Replica, repository and lookup vary
								// independently over n.
								hub := hubs[n%replicas]
								r := (n * 7) % repos
								app := hub.WithSegment("org", fmt.Sprintf("app%d", r))
								var err error
								switch (n / 5) % 3 {
								case 0:
									_, err = app.ListTags(ctx)
								case 1:
									_, err = app.GetManifest(ctx, "v1")
								case 2:
									_, err = app.GetConfigBlob(ctx, "@"+digests[r])
								}
								if err != nil {
									errs <- err
									return
								}
							}
						})
					}
					wg.Wait()
					b.StopTimer()
					close(errs)
					for err := range errs {
						b.Fatal(err)
					}
					for _, r := range dist.Requests() {
						if r != "GET /v2/" { // the client's handshake, once per client
							total++
						}
					}
					for _, c := range caches {
						if err := c.Close(); err != nil {
							b.Fatalf("Close() = %v", err)
						}
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(total)/float64(b.N), "upstream-req/workload")
			})
		}
	}
}
