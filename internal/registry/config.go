package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// readConfig returns the config blob cfg describes, from repo. It is the
// one read every config goes through: GetImageConfig, GetConfigBlob (with
// WithManifest or without), CopyImage's platform check, and a ClientImage's
// ConfigFile, RawConfigFile and layer DiffIDs.
//
// go-containerregistry's own ConfigFile and RawConfigFile read a config
// whole at whatever size its manifest declares: a manifest declaring
// 8,000,000,000 bytes with an endless body grew the process to 3.4 GB in
// 6 s. Here a declared size above Options.MaxManifestBytes is refused
// before any request, at most the declared size (and one byte more, to
// tell a longer body) is read whatever the registry sends, and the bytes
// must hash to the declared digest. A config that fails any of these is
// ErrUpstreamInvalid.
func (c *client) readConfig(ctx context.Context, repo name.Repository, cfg v1.Descriptor) ([]byte, error) {
	limit := c.s.opts.MaxManifestBytes
	if cfg.Size < 0 || cfg.Size > limit {
		return nil, fmt.Errorf("%w: config %s declares %d bytes, cap %d", ErrUpstreamInvalid, cfg.Digest, cfg.Size, limit)
	}
	b := cfg.Data // a config embedded in the manifest, bounded with it
	if b == nil {
		ref := repo.Digest(cfg.Digest.String())
		l, err := c.s.puller(ref).Layer(ctx, ref)
		if err != nil {
			return nil, err
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, markRefusal(err)
		}
		defer func() { _ = rc.Close() }() // read-only; the checks below vouch for b
		// One allocation of the declared size and a byte, which tells a
		// longer body; io.ReadAll would grow its buffer to about twice that.
		buf := make([]byte, cfg.Size+1)
		n, err := io.ReadFull(rc, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, markRefusal(err)
		}
		b = buf[:n]
	}
	if int64(len(b)) != cfg.Size {
		return nil, fmt.Errorf("%w: config %s has %d bytes or more, declared %d", ErrUpstreamInvalid, cfg.Digest, len(b), cfg.Size)
	}
	if got, _, err := v1.SHA256(bytes.NewReader(b)); err != nil || got != cfg.Digest {
		return nil, fmt.Errorf("%w: config %s: content has digest %s", ErrUpstreamInvalid, cfg.Digest, got)
	}
	return b, nil
}

// parseConfig parses a config blob read by readConfig.
func parseConfig(b []byte) (*v1.ConfigFile, error) {
	cf, err := v1.ParseConfigFile(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: parse config: %w", ErrUpstreamInvalid, err)
	}
	return cf, nil
}
