package extract

// freeChunks is a process-wide free list of chunk buffers shared by every
// Flatten. A sync.Pool per call let each stream allocate its own buffers,
// and the heap (and RSS) ratcheted up stream after stream until the
// collector and scavenger caught up; a fixed list reuses the same memory.
// 256 chunks of 256 KiB hold 64 MiB: the default prefetch budget of two
// concurrent streams. Beyond it buffers are allocated and left to the GC.
var freeChunks = make(chan []byte, 256)

// getChunk returns a buffer of chunkSize bytes.
func getChunk() []byte {
	select {
	case b := <-freeChunks:
		return b
	default:
		return make([]byte, chunkSize)
	}
}

// putChunk returns b to the free list, or drops it when the list is full.
func putChunk(b []byte) {
	select {
	case freeChunks <- b[:chunkSize]:
	default:
	}
}
