package transfer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestRemoveSpooled removes the spool files Spool left open, and nothing
// else; the Spooled it unlinked still closes without error.
func TestRemoveSpooled(t *testing.T) {
	dir := t.TempDir()
	open, err := Spool(context.Background(), bytes.NewReader([]byte("still held by a handler")), dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"regapi-upload-notes.txt", "other.tar"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "regapi-upload-dir.tar"), 0o700); err != nil {
		t.Fatal(err)
	}
	files, freed, err := RemoveSpooled(dir)
	if err != nil || files != 1 || freed != open.Size() {
		t.Errorf("RemoveSpooled = %d files, %d bytes, %v; want 1, %d, nil", files, freed, err, open.Size())
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{"other.tar", "regapi-upload-dir.tar", "regapi-upload-notes.txt"}; !slices.Equal(left, want) {
		t.Errorf("left in dir = %v, want %v", left, want)
	}
	if err := open.Close(); err != nil {
		t.Errorf("Close of a removed spool file = %v, want nil", err)
	}
}
