package telemetry_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/regapi/regapi/internal/telemetry"
)

// Wiring as cmd/server does it: one registry, one logger, the middleware on
// the router, the transport under each upstream client, /metrics apart.
func Example() {
	logger, err := telemetry.NewLogger(io.Discard, "json", "info")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	reg := prometheus.NewRegistry()
	metrics, err := telemetry.NewMetrics(reg, telemetry.WithLogger(logger), telemetry.WithBuildInfo("v1.0.0", "abc"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}

	r := chi.NewRouter()
	r.Use(telemetry.AssignRequestID, metrics.Middleware)
	// GET /api/v1/repos/*
	r.Get("/api/v1/repos/*", func(w http.ResponseWriter, r *http.Request) {
		// A handler behind a wildcard names its logical route in chi's
		// routing context; the middleware reads it after the handler ran.
		rctx := chi.RouteContext(r.Context())
		rctx.RoutePatterns[len(rctx.RoutePatterns)-1] = "/api/v1/repos/{registry}/{repository}/-/tags"
		fmt.Fprint(w, `{"tags":[]}`)
	})
	upstream := &http.Client{Transport: telemetry.UpstreamTransport(http.DefaultTransport, "hub", metrics)}
	_ = upstream // handed to registry.Options.Transport in regapi

	api := httptest.NewServer(r)
	defer api.Close()
	admin := httptest.NewServer(telemetry.AdminHandler(reg, false))
	defer admin.Close()

	resp, err := http.Get(api.URL + "/api/v1/repos/hub/library/nginx/-/tags")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, len(resp.Header.Get(telemetry.HeaderRequestID)))
	// Output: 200 26
}
