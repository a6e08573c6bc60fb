package registrytest

import "go.uber.org/goleak"

// LeakOptions returns the goleak options a TestMain needs when its tests use
// NewDistribution: every distribution App starts an event broadcaster
// goroutine that App.Shutdown does not stop (its handle is unexported).
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(m, registrytest.LeakOptions()...) }
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/docker/go-events.(*Broadcaster).run"),
	}
}
