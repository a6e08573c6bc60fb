package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/regapi/regapi/internal/config"
	"github.com/regapi/regapi/internal/handlers"
	"github.com/regapi/regapi/internal/transfer"
)

// writeFlags are the write routes' flag values, merged with their
// variables.
type writeFlags struct {
	maxBytes, spoolDir string
	uploadConc         int
	idle               time.Duration
	minRate            string
	maxDuration        time.Duration
	syncConc           int
}

// writeOptions merges the write routes' flags (set says which were given)
// over the file's uploads and sync sections and the defaults.
func writeOptions(file config.Config, set map[string]bool, f writeFlags) (config.Uploads, config.Sync, error) {
	u, s := file.Uploads, file.Sync
	if set["upload-max-bytes"] || u.MaxBytes == 0 {
		n, err := config.ParseByteSize(f.maxBytes)
		if err != nil {
			return u, s, fmt.Errorf("upload max bytes: %w", err)
		}
		u.MaxBytes = n
	}
	if set["spool-dir"] || u.SpoolDir == "" {
		u.SpoolDir = f.spoolDir
	}
	if set["upload-concurrency"] || u.Concurrency == 0 {
		u.Concurrency = f.uploadConc
	}
	if set["upload-idle-timeout"] || u.IdleTimeout == 0 {
		u.IdleTimeout = config.Duration(f.idle)
	}
	if set["upload-min-rate"] || u.MinRate == 0 {
		n, err := config.ParseByteSize(f.minRate)
		if err != nil {
			return u, s, fmt.Errorf("upload min rate: %w", err)
		}
		u.MinRate = n
	}
	if set["upload-max-duration"] || u.MaxDuration == 0 {
		u.MaxDuration = config.Duration(f.maxDuration)
	}
	if set["sync-concurrency"] || s.Concurrency == 0 {
		s.Concurrency = f.syncConc
	}
	u, s = u.WithDefaults(), s.WithDefaults()
	if u.MaxBytes <= 0 || u.Concurrency <= 0 || u.IdleTimeout <= 0 || u.MinRate <= 0 || u.MaxDuration <= 0 {
		return u, s, errors.New("upload max bytes, concurrency, idle timeout, min rate and max duration must be positive")
	}
	if err := s.Validate(); err != nil {
		return u, s, err
	}
	if u.SpoolDir == "" {
		// Resolved here, once: in Kubernetes the chart points TMPDIR at
		// the pod's emptyDir.
		u.SpoolDir = os.TempDir()
	}
	return u, s, nil
}

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
