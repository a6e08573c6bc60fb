package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		d    []time.Duration
		q    float64
		want time.Duration
	}{
		{ten, 0.5, 5},
		{ten, 0.9, 9},
		{ten, 1, 10},
		{ten, 0, 1},
		{[]time.Duration{7}, 0.9, 7},
		{nil, 0.5, 0},
	} {
		if got := percentile(tc.d, tc.q); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.d, tc.q, got, tc.want)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080/api", true},
		{"http://localhost:8080/", false},
		{"https://127.0.0.1:8080/", false},
		{"http://10.0.0.1:80/", false},
		{"http://example.com/", false},
	} {
		if err := checkLoopback(tc.url); (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}
