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
	create   func(dir string) (TempFile, error)
}

func makeOptions(maxBytes int64, opts ...Option) (*options, error) {
	o := &options{
		maxBytes: maxBytes,
		logger:   slog.New(slog.DiscardHandler),
		metrics:  &metrics{},
		open: func(_ context.Context, l v1.Layer) (io.ReadCloser, error) {
			return l.Uncompressed()
		},
		create: func(dir string) (TempFile, error) {
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

// TempFile is what a fill writes a layer to before renaming it into place:
// an *os.File, or a wrapper of one.
type TempFile interface {
	io.Writer
	Close() error
	Name() string
}

// WithTempFiles sets how a fill creates its temporary file in dir. It is
// the cache's fault hook: a wrapper that fails its writes shows what a full
// or failing disk does (the fill is abandoned, nothing is left behind, the
// read goes to the registry). The default value is os.CreateTemp.
func WithTempFiles(create func(dir string) (TempFile, error)) Option {
	return func(o *options) error {
		if create == nil {
			return errors.New("nil temporary file maker")
		}
		o.create = create
		return nil
	}
}
