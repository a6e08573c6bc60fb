package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestResolveCursorKey: the key file is read relative to the configuration
// file, without its final newline; a short, empty or missing one fails the
// start with an error that names the file and never its content.
func TestResolveCursorKey(t *testing.T) {
	key := strings.Repeat("k3y-", 10) // 40 bytes
	short := "short-secret-0123456789"
	dir := writeFiles(t, map[string]string{
		"cursor.key":  key + "\n",
		"short.key":   short + "\n",
		"empty.key":   "\n",
		"regapi.yaml": "cursor_key_file: cursor.key\n",
	})
	c, err := Load(filepath.Join(dir, "regapi.yaml"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ResolveCursorKey(); err != nil {
		t.Fatalf("ResolveCursorKey() = %v", err)
	}
	if got := c.CursorKey.Reveal(); got != key {
		t.Errorf("CursorKey = %q, want the file's content without its newline", got)
	}

	var none Config
	if err := none.ResolveCursorKey(); err != nil || none.CursorKey != "" {
		t.Errorf("without a file: CursorKey %q, %v; want none", none.CursorKey.Reveal(), err)
	}
	for name, want := range map[string]string{
		"short.key":   "want at least 32",
		"empty.key":   "is empty",
		"missing.key": "no such file",
		"":            "not a regular file", // the directory
	} {
		c := Config{CursorKeyFile: filepath.Join(dir, name)}
		err := c.ResolveCursorKey()
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "cursor_key_file") {
			t.Errorf("ResolveCursorKey(%s) = %v, want an error of cursor_key_file with %q", name, err, want)
			continue
		}
		if strings.Contains(err.Error(), short) {
			t.Errorf("ResolveCursorKey(%s) = %v: the error holds the file's content", name, err)
		}
		if c.CursorKey != "" {
			t.Errorf("ResolveCursorKey(%s) kept a key", name)
		}
	}
}
