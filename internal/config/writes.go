package config

import (
	"fmt"
	"time"
)

// Defaults of the write routes (uploads, copies, syncs).
const (
	// DefaultUploadMaxBytes caps one image upload, as sent and once
	// decompressed.
	DefaultUploadMaxBytes = 2 << 30
	// DefaultUploadConcurrency is how many uploads one process spools at
	// a time; the spool needs this many times the cap of disk.
	DefaultUploadConcurrency = 2
	// DefaultUploadIdleTimeout ends an upload whose body stalls this long.
	DefaultUploadIdleTimeout = time.Minute
	// DefaultUploadMinRate is the average rate, in bytes per second, an
	// upload must keep after its first idle timeout: a modem's. Slower
	// uploads are cut, so a client sending a byte now and then cannot hold
	// an upload slot for ever.
	DefaultUploadMinRate = 16 << 10
	// DefaultUploadMaxDuration bounds one upload from its first byte to its
	// last, whatever its rate: the 2 GiB default cap at 1 MiB/s takes 35m.
	DefaultUploadMaxDuration = time.Hour
	// DefaultSyncConcurrency is how many tags one sync copies at a time.
	DefaultSyncConcurrency = 4
)

// Uploads configures PUT …/-/images/{tag}. Zero fields take the defaults.
type Uploads struct {
	// MaxBytes caps one upload, as sent and once decompressed. Default 2GiB.
	MaxBytes ByteSize `json:"max_bytes,omitempty"`
	// SpoolDir is where uploads are spooled while they are validated and
	// pushed. It must belong to this regapi process alone: leftovers
	// (regapi-upload-*.tar) are removed at startup. Default: the system's
	// temporary directory ($TMPDIR, else /tmp).
	SpoolDir string `json:"spool_dir,omitempty"`
	// Concurrency bounds the uploads in progress; more wait. Default 2.
	Concurrency int `json:"concurrency,omitempty"`
	// IdleTimeout ends an upload whose body makes no progress this long.
	// Default 1m.
	IdleTimeout Duration `json:"idle_timeout,omitempty"`
	// MinRate is the average rate (bytes per second) an upload must keep
	// once IdleTimeout has passed since its start. Default 16KiB.
	MinRate ByteSize `json:"min_rate,omitempty"`
	// MaxDuration bounds reading one upload's body. Default 1h.
	MaxDuration Duration `json:"max_duration,omitempty"`
}

// Sync configures POST /api/v1/sync.
type Sync struct {
	// Concurrency is how many tags one sync copies at once (at most 32).
	// Default 4.
	Concurrency int `json:"concurrency,omitempty"`
}

// WithDefaults returns u with every zero field but SpoolDir set to its
// default; an empty SpoolDir means the system's temporary directory,
// resolved where the spool is used.
func (u Uploads) WithDefaults() Uploads {
	if u.MaxBytes == 0 {
		u.MaxBytes = DefaultUploadMaxBytes
	}
	if u.Concurrency == 0 {
		u.Concurrency = DefaultUploadConcurrency
	}
	if u.IdleTimeout == 0 {
		u.IdleTimeout = Duration(DefaultUploadIdleTimeout)
	}
	if u.MinRate == 0 {
		u.MinRate = DefaultUploadMinRate
	}
	if u.MaxDuration == 0 {
		u.MaxDuration = Duration(DefaultUploadMaxDuration)
	}
	return u
}

// Validate reports a setting no upload could work with.
func (u Uploads) Validate() error {
	if u.MaxBytes < 0 || u.Concurrency < 0 || u.MinRate < 0 {
		return fmt.Errorf("uploads: max_bytes, concurrency and min_rate must not be negative")
	}
	return nil
}

// WithDefaults returns s with every zero field set to its default.
func (s Sync) WithDefaults() Sync {
	if s.Concurrency == 0 {
		s.Concurrency = DefaultSyncConcurrency
	}
	return s
}

// Validate reports a setting no sync could work with.
func (s Sync) Validate() error {
	if s.Concurrency < 0 || s.Concurrency > 32 {
		return fmt.Errorf("sync: concurrency %d: want 1 to 32", s.Concurrency)
	}
	return nil
}
