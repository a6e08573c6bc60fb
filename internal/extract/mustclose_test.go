package extract

import (
	"io"
	"testing"
)

// mustClose closes c (an Entry, a layer stream) and fails tb if that fails:
// from a read-only stream, a Close error still means a leak or a double
// close.
func mustClose(tb testing.TB, c io.Closer) {
	tb.Helper()
	if err := c.Close(); err != nil {
		tb.Errorf("Close() = %v", err)
	}
}
