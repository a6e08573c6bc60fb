package transfer

import (
	"errors"
	"fmt"
)

var (
	// ErrTooLarge reports an upload larger than the cap given to Spool, as
	// received or once decompressed.
	ErrTooLarge = errors.New("upload too large")

	// ErrInvalidTarball reports an upload that is not a usable image
	// archive: not a tar, a bad manifest.json or index.json, an unsafe path,
	// a missing blob, a digest or size that does not match. The error's text
	// says which.
	ErrInvalidTarball = errors.New("invalid image tarball")

	// ErrIncompleteBody reports a body that could not be read to its end,
	// typically because the client went away mid-upload.
	ErrIncompleteBody = errors.New("upload body incomplete")
)

// invalidf returns an error wrapping ErrInvalidTarball with a reason.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidTarball, fmt.Sprintf(format, args...))
}
