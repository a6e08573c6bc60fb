package telemetry

import (
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// Connections counts the API listener's client connections: how many are
// open, the cap on them, and request bodies cut for arriving too slowly. A
// nil *Connections is valid and counts nothing.
type Connections struct {
	open         prometheus.Gauge
	limit        prometheus.Gauge
	bodyTimeouts prometheus.Counter
}

func newConnections() *Connections {
	return &Connections{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "http_connections_open",
			Help: "Client connections of the API listener, from accept to close.",
		}),
		limit: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "http_connections_limit",
			Help: "The cap on open client connections (--max-connections); more wait to be accepted.",
		}),
		bodyTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "http_body_timeouts_total",
			Help: "Requests answered 408 because their body did not arrive in time (--body-timeout, upload rate rules).",
		}),
	}
}

func (c *Connections) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.open, c.limit, c.bodyTimeouts}
}

// SetLimit records the connection cap.
func (c *Connections) SetLimit(n int) {
	if c != nil {
		c.limit.Set(float64(n))
	}
}

// ConnState is an http.Server ConnState hook that keeps the open gauge.
func (c *Connections) ConnState(_ net.Conn, s http.ConnState) {
	if c == nil {
		return
	}
	switch s {
	case http.StateNew:
		c.open.Inc()
	case http.StateClosed, http.StateHijacked:
		c.open.Dec()
	}
}

// BodyTimeout counts one request body that arrived too slowly.
func (c *Connections) BodyTimeout() {
	if c != nil {
		c.bodyTimeouts.Inc()
	}
}
