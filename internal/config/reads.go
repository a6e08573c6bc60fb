package config

// Reads configures GET …/-/extract/{reference} and …/-/files/{reference}/{path}.
type Reads struct {
	// Concurrency bounds the extracts and file reads in progress,
	// together; beyond it the answer is 503 with Retry-After, never a
	// queue.
	Concurrency int `json:"concurrency,omitempty"`
	// CallerConcurrency is the most of those one caller (a token, or an
	// anonymous caller's address) may hold; zero is half, at least one.
	CallerConcurrency int `json:"caller_concurrency,omitempty"`
	// StreamIdleTimeout cuts a response whose client stopped reading for
	// this long.
	StreamIdleTimeout Duration `json:"stream_idle_timeout,omitempty"`
	// StreamMinRate is the bytes per second a client must take a response
	// at, once it has kept it waiting a first StreamIdleTimeout.
	StreamMinRate ByteSize `json:"stream_min_rate,omitempty"`
	// MaxDuration bounds one extract or files read, whatever its rate.
	MaxDuration Duration `json:"max_duration,omitempty"`
	// MaxFileSize caps the regular file the files route serves (413
	// beyond).
	MaxFileSize ByteSize `json:"max_file_size,omitempty"`
	// MaxImageRows is the most tags the image table computes rows for to
	// answer sort=created or digest= (400 TOO_MANY_TAGS beyond).
	MaxImageRows int `json:"max_image_rows,omitempty"`
	// LayerCacheDir keeps the layers read, uncompressed, in this
	// directory (regapi's alone), so that reading an image again
	// downloads nothing. Empty: no layer cache.
	LayerCacheDir string `json:"layer_cache_dir,omitempty"`
	// LayerCacheMaxBytes bounds the bytes kept in LayerCacheDir, least
	// recently used layers going first.
	LayerCacheMaxBytes ByteSize `json:"layer_cache_max_bytes,omitempty"`
	// FileIndexMaxBytes bounds the memory of the file indexes kept (one
	// per image); zero keeps none.
	FileIndexMaxBytes ByteSize `json:"file_index_max_bytes,omitempty"`
}
