package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/regapi/regapi/internal/config"
	"github.com/regapi/regapi/internal/handlers"
)

// readOptions merges the image-reading routes' flags (already merged with
// their variables; set says which were given) over the file's reads
// section and the defaults.
func readOptions(file config.Config, set map[string]bool, concurrency int, idle time.Duration, maxFileSize string, maxImageRows int) (config.Reads, error) {
	r := file.Reads
	if set["extract-concurrency"] || r.Concurrency == 0 {
		r.Concurrency = concurrency
	}
	if set["stream-idle-timeout"] || r.StreamIdleTimeout == 0 {
		r.StreamIdleTimeout = config.Duration(idle)
	}
	if set["max-file-size"] || r.MaxFileSize == 0 {
		n, err := config.ParseByteSize(maxFileSize)
		if err != nil {
			return r, fmt.Errorf("max file size: %w", err)
		}
		r.MaxFileSize = n
	}
	if set["max-image-rows"] || r.MaxImageRows == 0 {
		r.MaxImageRows = maxImageRows
	}
	r = r.WithDefaults()
	if r.Concurrency <= 0 || r.StreamIdleTimeout <= 0 || r.MaxFileSize <= 0 || r.MaxImageRows <= 0 {
		return r, errors.New("extract concurrency, stream idle timeout, max file size and max image rows must be positive")
	}
	return r, nil
}

// handlerImages is the handlers' view of the image table's settings.
func handlerImages(r config.Reads) handlers.Images {
	return handlers.Images{MaxRows: r.MaxImageRows}
}

// handlerReads is the handlers' view of the read settings.
func handlerReads(r config.Reads) handlers.Reads {
	return handlers.Reads{
		Concurrency: r.Concurrency,
		IdleTimeout: time.Duration(r.StreamIdleTimeout),
		MaxFileSize: int64(r.MaxFileSize),
	}
}
