package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/regapi/regapi/internal/config"
	"github.com/regapi/regapi/internal/handlers"
	"github.com/regapi/regapi/internal/transfer"
)

// handlerWrites is the handlers' view of the write settings.
func handlerWrites(u config.Uploads, s config.Sync) handlers.Writes {
	return handlers.Writes{
		SpoolDir:          u.SpoolDir,
		MaxUploadBytes:    int64(u.MaxBytes),
		UploadConcurrency: u.Concurrency,
		UploadIdleTimeout: time.Duration(u.IdleTimeout),
		UploadMinRate:     int64(u.MinRate),
		UploadMaxDuration: time.Duration(u.MaxDuration),
		SyncConcurrency:   s.Concurrency,
	}
}

// prepareSpool checks that dir is a writable directory and removes the
// spool files a previous run left there (a crash or kill mid-upload; an
// emptyDir outlives its container). The directory belongs to this process:
// nothing else may be spooling into it.
func prepareSpool(dir string, logger *slog.Logger) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("spool dir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("spool dir %s is not a directory", dir)
	}
	probe, err := os.CreateTemp(dir, ".regapi-probe-*")
	if err != nil {
		return fmt.Errorf("spool dir is not writable: %w", err)
	}
	_ = probe.Close() // empty: nothing written to lose
	if err := os.Remove(probe.Name()); err != nil {
		return fmt.Errorf("spool dir does not let files be removed: %w", err)
	}

	sweepSpool(dir, "leftover uploads of an earlier run", logger)
	return nil
}

// sweepSpool removes the spool files in dir (transfer.RemoveSpooled) and
// logs what it freed, and what it could not remove, as what they are.
func sweepSpool(dir, what string, logger *slog.Logger) {
	n, freed, err := transfer.RemoveSpooled(dir)
	if err != nil {
		logger.Warn("spool: "+what+" not all removed", "dir", dir, "err", err)
	}
	if n > 0 {
		logger.Info("spool: removed "+what, "dir", dir, "files", n, "bytes", freed)
	}
}
