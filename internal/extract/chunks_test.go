package extract

import "testing"

// The free list keeps what it has room for and counts what it drops. The
// list is process-wide, so the test drains it first and runs alone (no
// t.Parallel) within the package.
func TestChunkFreeList(t *testing.T) {
	for len(freeChunks) > 0 {
		<-freeChunks
	}
	bufs := make([][]byte, cap(freeChunks)+3)
	for i := range bufs {
		bufs[i] = getChunk()
		if len(bufs[i]) != chunkSize {
			t.Fatalf("getChunk() returned %d bytes, want %d", len(bufs[i]), chunkSize)
		}
	}
	before := ChunksDropped()
	for _, b := range bufs {
		putChunk(b)
	}
	if got := ChunksDropped() - before; got != 3 {
		t.Errorf("ChunksDropped() grew by %d after returning %d chunks to a list of %d, want 3", got, len(bufs), cap(freeChunks))
	}
	if n := len(freeChunks); n != cap(freeChunks) {
		t.Errorf("free list holds %d chunks, want its capacity %d", n, cap(freeChunks))
	}
}
