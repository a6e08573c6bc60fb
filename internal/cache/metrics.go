package cache

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// kind is what an entry holds; it is the only metric label, so that label
// values stay few and never carry a repository or tag.
type kind uint8

const (
	kindTags kind = iota
	kindRepositories
	kindManifest
	kindDigest
	kindConfig
	kindReferrers
	numKinds
)

var kindNames = [numKinds]string{"tags", "repositories", "manifest", "digest", "config", "referrers"}

func (k kind) String() string { return kindNames[k] }

// metrics holds the cache's collectors, resolved per kind up front so that a
// hit costs no label lookup.
type metrics struct {
	hits, misses, stale, evictions, coalesced [numKinds]prometheus.Counter
	entries, bytes                            [numKinds]prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"kind"})
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"kind"})
	}
	hits := counter("regapi_cache_hits_total", "Lookups answered from memory, not-found answers included.")
	misses := counter("regapi_cache_misses_total", "Lookups that waited for the registry (coalesced waiters included).")
	stale := counter("regapi_cache_stale_total", "Lookups answered with an expired entry because the refresh failed.")
	evictions := counter("regapi_cache_evictions_total", "Entries evicted to stay within the entry or byte budget.")
	coalesced := counter("regapi_cache_coalesced_waiters_total", "Lookups that joined a load already in flight instead of starting one.")
	entries := gauge("regapi_cache_entries", "Entries held.")
	bytes := gauge("regapi_cache_bytes", "Estimated bytes held.")

	if reg != nil {
		for _, c := range []prometheus.Collector{hits, misses, stale, evictions, coalesced, entries, bytes} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if errors.As(err, &are) {
					return nil, fmt.Errorf("cache: metrics already registered (one cache per registry): %w", err)
				}
				return nil, fmt.Errorf("cache: register metrics: %w", err)
			}
		}
	}
	m := &metrics{}
	for k := range numKinds {
		l := k.String()
		m.hits[k] = hits.WithLabelValues(l)
		m.misses[k] = misses.WithLabelValues(l)
		m.stale[k] = stale.WithLabelValues(l)
		m.evictions[k] = evictions.WithLabelValues(l)
		m.coalesced[k] = coalesced.WithLabelValues(l)
		m.entries[k] = entries.WithLabelValues(l)
		m.bytes[k] = bytes.WithLabelValues(l)
	}
	return m, nil
}

// registerLoaderMetric exports how many loader goroutines were started
// because none was waiting: when it grows with every miss, the loaders kept
// (maxIdleLoaders) are too few for the misses' concurrency.
func registerLoaderMetric(reg prometheus.Registerer, p *loaders) error {
	if reg == nil {
		return nil
	}
	started := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "regapi_cache_loaders_started_total",
		Help: "Goroutines started for cache loads because no kept loader was waiting.",
	}, func() float64 { return float64(p.started.Load()) })
	if err := reg.Register(started); err != nil {
		return fmt.Errorf("cache: register metrics: %w", err)
	}
	return nil
}
