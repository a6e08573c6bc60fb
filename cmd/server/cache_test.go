package main

import (
	"testing"
	"time"

	"github.com/regapi/regapi/internal/config"
)

func TestCacheOptions(t *testing.T) {
	file := config.Cache{MaxBytes: 64 << 20, StaleWindow: config.Duration(time.Minute)}
	tests := []struct {
		name      string
		set       map[string]bool
		disabled  bool
		maxBytes  string
		stale     time.Duration
		wantBytes config.ByteSize
		wantStale time.Duration
		wantOff   bool
		wantErr   bool
	}{
		{name: "file wins over defaults", set: map[string]bool{}, maxBytes: "256MiB", stale: 10 * time.Minute,
			wantBytes: 64 << 20, wantStale: time.Minute},
		{name: "flags win over the file", set: map[string]bool{"cache-max-bytes": true, "cache-stale-window": true, "cache-disabled": true},
			disabled: true, maxBytes: "1GiB", stale: 0, wantBytes: 1 << 30, wantStale: 10 * time.Minute, wantOff: true},
		{name: "bad size", set: map[string]bool{"cache-max-bytes": true}, maxBytes: "lots", wantErr: true},
		{name: "negative stale window", set: map[string]bool{"cache-stale-window": true}, maxBytes: "1MiB", stale: -time.Second, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cacheOptions(file, tt.set, tt.disabled, tt.maxBytes, tt.stale)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("cacheOptions() = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("cacheOptions() error = %v", err)
			}
			if got.MaxBytes != tt.wantBytes || time.Duration(got.StaleWindow) != tt.wantStale || got.Disabled != tt.wantOff {
				t.Errorf("cacheOptions() = max %d stale %s off %v, want max %d stale %s off %v",
					got.MaxBytes, time.Duration(got.StaleWindow), got.Disabled, tt.wantBytes, tt.wantStale, tt.wantOff)
			}
		})
	}
}
