package main

import (
	"context"
	"errors"
	"fmt"
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

// readFlags are the image-reading routes' flags, merged with their
// variables.
type readFlags struct {
	concurrency        int
	idle               time.Duration
	maxFileSize        string
	layerCacheDir      string
	layerCacheMaxBytes string
	maxImageRows       int
}

// readOptions merges the image-reading routes' flags (already merged with
// their variables; set says which were given) over the file's reads
// section and the defaults.
func readOptions(file config.Config, set map[string]bool, f readFlags) (config.Reads, error) {
	r := file.Reads
	if set["extract-concurrency"] || r.Concurrency == 0 {
		r.Concurrency = f.concurrency
	}
	if set["stream-idle-timeout"] || r.StreamIdleTimeout == 0 {
		r.StreamIdleTimeout = config.Duration(f.idle)
	}
	if set["max-file-size"] || r.MaxFileSize == 0 {
		n, err := config.ParseByteSize(f.maxFileSize)
		if err != nil {
			return r, fmt.Errorf("max file size: %w", err)
		}
		r.MaxFileSize = n
	}
	if set["max-image-rows"] || r.MaxImageRows == 0 {
		r.MaxImageRows = f.maxImageRows
	}
	if set["layer-cache-dir"] {
		r.LayerCacheDir = f.layerCacheDir
	}
	if set["layer-cache-max-bytes"] || r.LayerCacheMaxBytes == 0 {
		n, err := config.ParseByteSize(f.layerCacheMaxBytes)
		if err != nil {
			return r, fmt.Errorf("layer cache max bytes: %w", err)
		}
		r.LayerCacheMaxBytes = n
	}
	r = r.WithDefaults()
	if r.Concurrency <= 0 || r.StreamIdleTimeout <= 0 || r.MaxFileSize <= 0 || r.MaxImageRows <= 0 || r.LayerCacheMaxBytes <= 0 {
		return r, errors.New("extract concurrency, stream idle timeout, max file size, max image rows and layer cache max bytes must be positive")
	}
	return r, nil
}

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
		Concurrency: r.Concurrency,
		IdleTimeout: time.Duration(r.StreamIdleTimeout),
		MaxFileSize: int64(r.MaxFileSize),
		Indexes:     m.FileIndexes,
	}
	if lc != nil { // a nil *Cache in the interface would not be nil
		h.LayerCache = lc
	}
	return h
}
