package extract

import "errors"

var (
	// ErrNotFound reports a path that is absent from the image, whited out,
	// or below something that is not a directory.
	ErrNotFound = errors.New("not found in image")

	// ErrTooLarge reports a regular file larger than the cap set by
	// WithMaxFileSize.
	ErrTooLarge = errors.New("file too large")

	// ErrLimit reports a layer that decompressed past the limits set by
	// WithMaxBytes or WithMaxRatio: a decompression bomb, or an image larger
	// than the caller allows.
	ErrLimit = errors.New("decompression limit exceeded")

	// ErrNameLimit reports a layer entry whose name or link target is longer
	// than 4096 bytes (Linux's PATH_MAX), or an image whose names, kept to
	// apply whiteouts and shadowing, pass the bound set by WithMaxNameBytes.
	ErrNameLimit = errors.New("name limit exceeded")

	// ErrTooManyLinks reports a path whose resolution followed more symbolic
	// or hard links than the hop limit (40, as Linux's MAXSYMLINKS).
	ErrTooManyLinks = errors.New("too many levels of links")
)
