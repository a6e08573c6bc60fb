package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/regapi/regapi/internal/config"
	"github.com/regapi/regapi/internal/extract"
	"github.com/regapi/regapi/internal/handlers"
	"github.com/regapi/regapi/internal/layercache"
	"github.com/regapi/regapi/internal/telemetry"
)

// handlerImages is the handlers' view of the image table's settings.
func handlerImages(r config.Reads) handlers.Images {
	return handlers.Images{MaxRows: r.MaxImageRows}
}

// newLayerCache opens the layer cache the settings ask for, or returns nil
// when they ask for none. A directory that cannot be used is a warning, not
// a failed start: reads then stream from the registries, as without one.
func newLayerCache(r config.Reads, reg prometheus.Registerer, logger *slog.Logger) *layercache.Cache {
	if r.LayerCacheDir == "" {
		return nil
	}
	c, err := layercache.New(r.LayerCacheDir, int64(r.LayerCacheMaxBytes),
		layercache.WithOpener(func(ctx context.Context, l v1.Layer) (io.ReadCloser, error) {
			// The extract routes' limits: 32 GiB and a 1100:1 ratio.
			return extract.OpenPlain(ctx, l)
		}),
		layercache.WithRegisterer(reg),
		layercache.WithLogger(logger))
	if err != nil {
		logger.Warn("layer cache off: its directory cannot be used; reads stream from the registries", "dir", r.LayerCacheDir, "err", err)
		return nil
	}
	n, layers := c.Bytes()
	logger.Info("layer cache", "dir", r.LayerCacheDir, "max_bytes", int64(r.LayerCacheMaxBytes), "bytes", n, "layers", layers)
	return c
}

// handlerReads is the handlers' view of the read settings.
func handlerReads(r config.Reads, lc *layercache.Cache, m *telemetry.Metrics) handlers.Reads {
	h := handlers.Reads{
		Concurrency:       r.Concurrency,
		CallerConcurrency: r.CallerConcurrency, // 0: the handlers' half
		IdleTimeout:       time.Duration(r.StreamIdleTimeout),
		MinRate:           int64(r.StreamMinRate),
		MaxDuration:       time.Duration(r.MaxDuration),
		MaxFileSize:       int64(r.MaxFileSize),
		IndexBytes:        int64(r.FileIndexMaxBytes),
		Indexes:           m.FileIndexes,
		Metrics:           m.Reads,
	}
	if h.IndexBytes == 0 {
		h.IndexBytes = -1 // none kept: handlers' zero means its default
	}
	if lc != nil { // a nil *Cache in the interface would not be nil
		h.LayerCache = lc
	}
	return h
}
