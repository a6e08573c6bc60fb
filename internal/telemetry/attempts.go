package telemetry

import (
	"net/http"
	"sync"
	"weak"
)

// attempts remembers, per *http.Request, the status of its last attempt, so
// that a request sent again tells whether it is a retry. go-containerregistry
// retries and answers token challenges by re-sending the very same
// *http.Request; weak pointers keep the memory of a request only as long as
// the request itself lives.
//
// Entries of requests that have been collected are dropped in bulk, when
// the map has doubled since the last sweep, rather than by a cleanup
// registered per request, which would cost a fifth of the transport's time.
type attempts struct {
	mu      sync.Mutex
	last    map[weak.Pointer[http.Request]]int
	sweepAt int // size of last at which begin sweeps
}

// statusPending marks a request whose attempt has not returned yet.
const statusPending = -1

// minSweep is the smallest map size that triggers a sweep.
const minSweep = 256

func newAttempts() *attempts {
	return &attempts{last: make(map[weak.Pointer[http.Request]]int), sweepAt: minSweep}
}

// attempt is one attempt in flight, for end.
type attempt struct{ wp weak.Pointer[http.Request] }

// begin starts an attempt of req and reports whether it repeats an earlier
// attempt that failed: one that returned anything but a 401 challenge (a
// re-send after a challenge is the authentication handshake, not a retry).
func (a *attempts) begin(req *http.Request) (attempt, bool) {
	wp := weak.Make(req)
	a.mu.Lock()
	defer a.mu.Unlock()
	status, seen := a.last[wp]
	a.last[wp] = statusPending
	if !seen {
		if len(a.last) >= a.sweepAt {
			a.sweepLocked()
		}
		return attempt{wp}, false
	}
	return attempt{wp}, status != http.StatusUnauthorized
}

// end records the status of the attempt; 0 for a transport error.
func (a *attempts) end(at attempt, status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.last[at.wp]; ok {
		a.last[at.wp] = status
	}
}

// sweepLocked drops the entries of collected requests and sets the next
// sweep at twice what is left. a.mu is held.
func (a *attempts) sweepLocked() {
	for wp := range a.last {
		if wp.Value() == nil {
			delete(a.last, wp)
		}
	}
	a.sweepAt = max(2*len(a.last), minSweep)
}

// len is the number of live requests remembered, for tests.
func (a *attempts) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweepLocked()
	return len(a.last)
}
