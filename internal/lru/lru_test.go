package lru

import (
	"fmt"
	"slices"
	"testing"
)

type removal struct {
	key     string
	v       int
	evicted bool
}

func newTest(t *testing.T, entries int, bytes int64) (*LRU[string, int], *[]removal) {
	t.Helper()
	var got []removal
	l, err := New(entries, bytes, func(k string, v int, evicted bool) { got = append(got, removal{k, v, evicted}) })
	if err != nil {
		t.Fatalf("New(%d, %d) = %v", entries, bytes, err)
	}
	return l, &got
}

func TestBytesBound(t *testing.T) {
	l, removed := newTest(t, 100, 10)
	for i := range 5 {
		l.Add(fmt.Sprint("k", i), i, 3)
		if l.Bytes() > 10 {
			t.Fatalf("after %d adds Bytes() = %d, over the bound 10", i+1, l.Bytes())
		}
	}
	// 5 values of 3 bytes under a bound of 10: the two oldest went.
	if l.Len() != 3 || l.Bytes() != 9 {
		t.Errorf("Len(), Bytes() = %d, %d, want 3, 9", l.Len(), l.Bytes())
	}
	want := []removal{{"k0", 0, true}, {"k1", 1, true}}
	if !slices.Equal(*removed, want) {
		t.Errorf("removals = %v, want %v", *removed, want)
	}
}

func TestEntriesBound(t *testing.T) {
	l, removed := newTest(t, 2, 1<<20)
	l.Add("a", 1, 1)
	l.Add("b", 2, 1)
	l.Get("a") // b is now the least recently used
	l.Add("c", 3, 1)
	if _, ok := l.Peek("b"); ok {
		t.Error("b was kept past the entry bound")
	}
	if l.Len() != 2 || l.Bytes() != 2 {
		t.Errorf("Len(), Bytes() = %d, %d, want 2, 2", l.Len(), l.Bytes())
	}
	if want := []removal{{"b", 2, true}}; !slices.Equal(*removed, want) {
		t.Errorf("removals = %v, want %v", *removed, want)
	}
}

// Replacing and removing are not evictions, and the byte count follows
// the size each value was added with.
func TestReplaceAndRemove(t *testing.T) {
	l, removed := newTest(t, 10, 100)
	l.Add("a", 1, 40)
	l.Add("a", 2, 7)
	if v, _ := l.Get("a"); v != 2 || l.Bytes() != 7 || l.Len() != 1 {
		t.Errorf("after replacing: Get(a) = %d, Bytes() = %d, Len() = %d, want 2, 7, 1", v, l.Bytes(), l.Len())
	}
	if !l.Remove("a") || l.Remove("a") {
		t.Error("Remove(a) twice = want true then false")
	}
	if l.Bytes() != 0 || l.Len() != 0 {
		t.Errorf("empty LRU: Bytes(), Len() = %d, %d, want 0, 0", l.Bytes(), l.Len())
	}
	want := []removal{{"a", 1, false}, {"a", 2, false}}
	if !slices.Equal(*removed, want) {
		t.Errorf("removals = %v, want %v", *removed, want)
	}
}

// A value over the byte bound does not stay, and takes the others with it.
func TestOversizedValue(t *testing.T) {
	l, _ := newTest(t, 10, 10)
	l.Add("a", 1, 5)
	l.Add("big", 2, 11)
	if l.Len() != 0 || l.Bytes() != 0 {
		t.Errorf("after an oversized add: Len(), Bytes() = %d, %d, want 0, 0", l.Len(), l.Bytes())
	}
}

func TestPeekAndValues(t *testing.T) {
	l, _ := newTest(t, 2, 100)
	l.Add("a", 1, 1)
	l.Add("b", 2, 1)
	if v, ok := l.Peek("a"); !ok || v != 1 {
		t.Errorf("Peek(a) = %d, %v, want 1, true", v, ok)
	}
	if got := l.Values(); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("Values() = %v, want [1 2] (Peek does not mark a used)", got)
	}
	l.Add("c", 3, 1) // evicts a, the oldest despite the Peek
	if got := l.Values(); !slices.Equal(got, []int{2, 3}) {
		t.Errorf("Values() = %v, want [2 3]", got)
	}
	if _, ok := l.Get("missing"); ok {
		t.Error("Get(missing) found a value")
	}
}

func TestNewRejectsBadBounds(t *testing.T) {
	for _, tt := range []struct {
		entries int
		bytes   int64
	}{{0, 10}, {-1, 10}, {10, 0}, {10, -1}} {
		if _, err := New[string, int](tt.entries, tt.bytes, nil); err == nil {
			t.Errorf("New(%d, %d) = nil error, want one", tt.entries, tt.bytes)
		}
	}
	l, err := New[string, int](1, 1, nil) // a nil onRemove is fine
	if err != nil {
		t.Fatal(err)
	}
	l.Add("a", 1, 1)
	l.Add("b", 2, 1)
	if l.Len() != 1 {
		t.Errorf("Len() = %d, want 1", l.Len())
	}
}

func BenchmarkGet(b *testing.B) {
	l, _ := New[string, int](1024, 1<<20, nil)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprint("key-", i)
		l.Add(keys[i], i, 64)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Get(keys[i&1023])
	}
}

func BenchmarkAdd(b *testing.B) {
	l, _ := New[string, int](1024, 32<<10, nil)
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprint("key-", i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Add(keys[i&4095], i, 64)
	}
}
