package config

// Uploads configures PUT …/-/images/{tag}.
type Uploads struct {
	// MaxBytes caps one upload, as sent and once decompressed.
	MaxBytes ByteSize `json:"max_bytes,omitempty"`
	// SpoolDir is where uploads are spooled while they are validated and
	// pushed. It must belong to this regapi process alone: leftovers
	// (regapi-upload-*.tar) are removed at startup. Empty: the system's
	// temporary directory ($TMPDIR, else /tmp).
	SpoolDir string `json:"spool_dir,omitempty"`
	// Concurrency bounds the uploads in progress; more wait.
	Concurrency int `json:"concurrency,omitempty"`
	// IdleTimeout ends an upload whose body makes no progress this long.
	//
	IdleTimeout Duration `json:"idle_timeout,omitempty"`
	// MinRate is the average rate (bytes per second) an upload must keep
	// once IdleTimeout has passed since its start.
	MinRate ByteSize `json:"min_rate,omitempty"`
	// MaxDuration bounds reading one upload's body.
	MaxDuration Duration `json:"max_duration,omitempty"`
}

// Sync configures POST /api/v1/sync.
type Sync struct {
	// Concurrency is how many tags one sync copies at once (at most 32).
	//
	Concurrency int `json:"concurrency,omitempty"`
}
