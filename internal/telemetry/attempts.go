package telemetry

import (
	"net/http"
	"runtime"
	"sync"
	"weak"
)

// attempts remembers, per *http.Request, the status of its last attempt, so
// that a request sent again tells whether it is a retry. go-containerregistry
// retries and answers token challenges by re-sending the very same
// *http.Request; weak pointers keep the memory of a request only as long as
// the request itself lives.
type attempts struct {
	mu   sync.Mutex
	last map[weak.Pointer[http.Request]]int
}

// statusPending marks a request whose attempt has not returned yet.
const statusPending = -1

func newAttempts() *attempts {
	return &attempts{last: make(map[weak.Pointer[http.Request]]int)}
}

// begin reports whether req repeats an earlier attempt that failed: one that
// returned anything but a 401 challenge (a re-send after a challenge is the
// authentication handshake, not a retry).
func (a *attempts) begin(req *http.Request) bool {
	wp := weak.Make(req)
	a.mu.Lock()
	defer a.mu.Unlock()
	status, seen := a.last[wp]
	a.last[wp] = statusPending
	if !seen {
		runtime.AddCleanup(req, a.forget, wp)
		return false
	}
	return status != http.StatusUnauthorized
}

// end records the status of req's attempt; 0 for a transport error.
func (a *attempts) end(req *http.Request, status int) {
	wp := weak.Make(req)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.last[wp]; ok {
		a.last[wp] = status
	}
}

func (a *attempts) forget(wp weak.Pointer[http.Request]) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.last, wp)
}

// len is the number of requests remembered, for tests.
func (a *attempts) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.last)
}
