package extract

import "sync/atomic"

// freeChunks is a process-wide free list of chunk buffers shared by every
// Flatten. With a sync.Pool per call each stream allocates its own
// buffers, and the heap (and RSS) ratchets up stream after stream until the
// collector and scavenger catch up; a fixed list reuses the same memory.
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

// chunksDropped counts the buffers putChunk left to the GC.
var chunksDropped atomic.Uint64

// putChunk returns b to the free list, or drops it when the list is full.
func putChunk(b []byte) {
	select {
	case freeChunks <- b[:chunkSize]:
	default:
		chunksDropped.Add(1)
	}
}

// ChunksDropped returns how many chunk buffers were returned to the
// process-wide free list while it was full and left to the garbage
// collector: each was allocated because more than the list holds were in
// use at once. It only grows; cmd/server exports it as
// regapi_store_evictions_total{store="extract_chunks"}.
func ChunksDropped() uint64 { return chunksDropped.Load() }
