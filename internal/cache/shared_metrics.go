package cache

import (
	"github.com/prometheus/client_golang/prometheus"
)

// sharedCall is the kind of call made to the shared tier: the label of its
// latency and errors.
type sharedCall uint8

const (
	callGet sharedCall = iota
	callSet
	callLease
	callDelete
	callPublish
	callScan
	numCalls
)

var callNames = [numCalls]string{"get", "set", "lease", "delete", "publish", "scan"}

// Outcomes of a replica's miss for the leases counter.
const (
	leaseWon    = iota // it fetched for the deployment
	leaseWaited        // another replica was fetching; it waited
	leaseGaveUp        // it waited, then fetched itself (holder failed, wait ran out)
	numLeaseResults
)

var leaseNames = [numLeaseResults]string{"won", "waited", "gave_up"}

// sharedMetrics are the shared tier's collectors (regapi_cache_shared_*),
// resolved per label up front.
type sharedMetrics struct {
	hits, misses, rejected [numKinds]prometheus.Counter
	errors                 [numCalls]prometheus.Counter
	latency                [numCalls]prometheus.Observer
	leases                 [numLeaseResults]prometheus.Counter
	ackTimeouts            prometheus.Counter
	resyncs                prometheus.Counter
}

func newSharedMetrics(reg prometheus.Registerer) (*sharedMetrics, error) {
	kindCounter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"kind"})
	}
	hits := kindCounter("regapi_cache_shared_hits_total", "Lookups missed in memory and answered by the shared tier.")
	misses := kindCounter("regapi_cache_shared_misses_total", "Lookups the shared tier had no answer for.")
	rejected := kindCounter("regapi_cache_shared_rejected_total", "Shared values dropped because they did not match their key (a digest that does not hash) or could not be read.")
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "regapi_cache_shared_errors_total", Help: "Calls to the shared tier that failed or timed out; the lookup went on without it."}, []string{"call"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "regapi_cache_shared_call_duration_seconds", Help: "Duration of calls to the shared tier.",
		// From a loopback round trip to the default 50 ms timeout and past it.
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1},
	}, []string{"call"})
	leases := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "regapi_cache_shared_leases_total", Help: "Misses by what the lease did: won (this replica fetched for all), waited (another fetched), gave_up (waited, then fetched itself)."}, []string{"result"})
	acks := prometheus.NewCounter(prometheus.CounterOpts{Name: "regapi_cache_shared_ack_timeouts_total", Help: "Purges and invalidations that not every replica confirmed in time."})
	resyncs := prometheus.NewCounter(prometheus.CounterOpts{Name: "regapi_cache_shared_resyncs_total", Help: "Times the event subscription came back after a drop and the replica dropped its tag-addressed answers, which a missed invalidation could have made stale."})
	if reg != nil {
		for _, c := range []prometheus.Collector{hits, misses, rejected, errs, latency, leases, acks, resyncs} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	m := &sharedMetrics{ackTimeouts: acks, resyncs: resyncs}
	for k := range numKinds {
		m.hits[k] = hits.WithLabelValues(k.String())
		m.misses[k] = misses.WithLabelValues(k.String())
		m.rejected[k] = rejected.WithLabelValues(k.String())
	}
	for c := range numCalls {
		m.errors[c] = errs.WithLabelValues(callNames[c])
		m.latency[c] = latency.WithLabelValues(callNames[c])
	}
	for r := range numLeaseResults {
		m.leases[r] = leases.WithLabelValues(leaseNames[r])
	}
	return m, nil
}
