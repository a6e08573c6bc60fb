package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
)

// Push uploads a to dst under tag, with PushIndex for an index and PushImage
// for an image, and returns the digest of its manifest. Blobs dst already
// has are not uploaded again.
func Push(ctx context.Context, dst registry.Client, tag string, a Artifact) (v1.Hash, error) {
	h, err := a.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", tag, err)
	}
	switch {
	case a.Index != nil:
		err = dst.PushIndex(ctx, tag, a.Index)
	case a.Image != nil:
		err = dst.PushImage(ctx, tag, a.Image)
	default:
		err = errors.New("empty artifact")
	}
	if err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", tag, err)
	}
	return h, nil
}

// UploadOptions says where Upload spools and how much it accepts.
type UploadOptions struct {
	// Dir is the directory of the spool file; "" means os.TempDir().
	Dir string
	// MaxBytes caps the upload, as received and once decompressed. It must
	// be positive.
	MaxBytes int64
}

// Result describes a completed upload.
type Result struct {
	// Digest is the digest of the manifest pushed.
	Digest v1.Hash
	// Format is the archive format of the upload.
	Format Format
	// Bytes is the size of the uncompressed tar.
	Bytes int64
}

// Upload is Spool, Load and Push in one call: it saves body to a spool file,
// validates it completely, pushes it to dst under tag and removes the spool
// file on every path, before it returns. A body that fails validation is
// never pushed, so nothing of it reaches dst. Errors match ErrTooLarge,
// ErrInvalidTarball, ErrIncompleteBody, ctx's error, or the registry
// client's sentinels. If the push succeeded but the spool file could not be
// removed, Upload returns the Result together with that error.
func Upload(ctx context.Context, dst registry.Client, tag string, body io.Reader, opts UploadOptions) (res Result, err error) {
	s, err := Spool(ctx, body, opts.Dir, opts.MaxBytes)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	a, err := Load(s)
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	h, err := Push(ctx, dst, tag, a)
	if err != nil {
		return Result{}, err
	}
	return Result{Digest: h, Format: a.Format, Bytes: s.Size()}, nil
}
