package layercache

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/prometheus/client_golang/prometheus"
)

// Option configures New.
type Option func(*options) error

type options struct {
	maxBytes int64
	logger   *slog.Logger
	metrics  *metrics
	open     func(context.Context, v1.Layer) (io.ReadCloser, error)
	create   func(dir string) (tempFile, error)
}

func makeOptions(maxBytes int64, opts ...Option) (*options, error) {
	o := &options{
		maxBytes: maxBytes,
		logger:   slog.New(slog.DiscardHandler),
		metrics:  &metrics{},
		open: func(_ context.Context, l v1.Layer) (io.ReadCloser, error) {
			return l.Uncompressed()
		},
		create: func(dir string) (tempFile, error) {
			return os.CreateTemp(dir, "fill-*")
		},
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithLogger sets where disk failures and dropped layers are reported. The
// default value discards them.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithRegisterer registers the cache's metrics (regapi_layer_cache_*) on
// reg. The default value registers none.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(o *options) error {
		m, err := newMetrics(reg)
		if err != nil {
			return err
		}
		o.metrics = m
		return nil
	}
}

// WithOpener sets how a layer's uncompressed tar is read when it is filled
// into the cache: regapi passes extract.OpenPlain, which decompresses
// faster than go-containerregistry and enforces the extract limits. The
// default value is the layer's Uncompressed.
func WithOpener(open func(context.Context, v1.Layer) (io.ReadCloser, error)) Option {
	return func(o *options) error {
		if open == nil {
			return errors.New("nil opener")
		}
		o.open = open
		return nil
	}
}
