package telemetry

import "testing"

func TestFileIndexes(t *testing.T) {
	m, reg, _ := newTestMetrics(t)
	f := m.FileIndexes
	f.Miss()
	f.Hit()
	f.Hit()
	f.Set(4096, 2)
	for name, want := range map[string]float64{
		"regapi_file_index_hits_total": 2, "regapi_file_index_misses_total": 1,
		"regapi_file_index_bytes": 4096, "regapi_file_index_images": 2,
	} {
		if got := series(t, reg, name)[""]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	var none *FileIndexes
	none.Hit()
	none.Miss()
	none.Set(1, 1) // a nil *FileIndexes counts nothing and does not panic
}
