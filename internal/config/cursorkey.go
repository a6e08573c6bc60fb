package config

import (
	"fmt"

	"github.com/regapi/regapi/internal/handlers"
)

// ResolveCursorKey reads the cursor key from cursor_key_file, when one is
// named, into CursorKey. The file is read bounded, and a final newline is
// dropped, as for every secret file; errors name the file, never its
// content.
func (c *Config) ResolveCursorKey() error {
	if c.CursorKeyFile == "" {
		return nil
	}
	// The path is already anchored: Parse made the file's names relative
	// to its directory, and a flag's is the operator's as given.
	key, err := reader{}.one("cursor_key", "", c.CursorKeyFile, "")
	if err != nil {
		return err
	}
	if len(key) < handlers.MinCursorKeyBytes {
		return fmt.Errorf("cursor_key_file %s holds %d bytes, want at least %d: generate one with openssl rand -base64 48",
			c.CursorKeyFile, len(key), handlers.MinCursorKeyBytes)
	}
	c.CursorKey = Secret(key)
	return nil
}
