// Package layercachetest holds the faults tests give the layer cache where
// a real disk cannot be made to show them.
package layercachetest

import (
	"os"
	"syscall"
)

// FullDisk is a temporary file on a disk that fills up after Room more
// bytes: a write past them writes what fits and fails with ENOSPC.
type FullDisk struct {
	*os.File
	Room int
}

// NewFullDisk creates a fill's temporary file in dir, as the cache does,
// on a disk with room bytes left. Give it to layercache.WithTempFiles.
func NewFullDisk(dir string, room int) (*FullDisk, error) {
	f, err := os.CreateTemp(dir, "fill-*")
	if err != nil {
		return nil, err
	}
	return &FullDisk{File: f, Room: room}, nil
}

func (f *FullDisk) Write(p []byte) (int, error) {
	if len(p) > f.Room {
		n, _ := f.File.Write(p[:f.Room]) // the disk takes what fits, then refuses
		f.Room = 0
		return n, syscall.ENOSPC
	}
	f.Room -= len(p)
	return f.File.Write(p)
}
