package cache

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
)

func TestOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    []Option
		wantErr string
		check   func(*options) error
	}{
		{name: "defaults", check: func(o *options) error {
			want := options{tagTTL: 30 * time.Second, tagListTTL: 30 * time.Second, repoListTTL: time.Minute,
				negativeTTL: 5 * time.Second, staleWindow: 10 * time.Minute, loadTimeout: 30 * time.Second,
				maxBytes: 256 << 20, maxEntryBytes: 4 << 20, maxEntries: 100_000,
				shared: sharedOptions{prefix: "regapi:", timeout: 50 * time.Millisecond, lease: 5 * time.Second}}
			if diff := cmp.Diff(want, *o, cmp.AllowUnexported(options{}, sharedOptions{}), cmpopts.IgnoreFields(options{}, "clock", "registerer")); diff != "" || o.clock == nil {
				return fmt.Errorf("default options mismatch (-want +got):\n%s", diff)
			}
			return nil
		}},
		{name: "entry cap follows a small budget", opts: []Option{WithMaxBytes(1 << 20)}, check: func(o *options) error {
			if o.maxEntryBytes != 1<<20 {
				return fmt.Errorf("maxEntryBytes = %d, want %d", o.maxEntryBytes, 1<<20)
			}
			return nil
		}},
		{name: "zero TTLs allowed", opts: []Option{WithTagTTL(0), WithNegativeTTL(0), WithStaleWindow(0)}},
		{name: "negative TTL", opts: []Option{WithTagTTL(-time.Second)}, wantErr: "tag TTL must not be negative"},
		{name: "negative list TTL", opts: []Option{WithTagListTTL(-1)}, wantErr: "tag list TTL"},
		{name: "negative repo TTL", opts: []Option{WithRepoListTTL(-1)}, wantErr: "repository list TTL"},
		{name: "negative stale window", opts: []Option{WithStaleWindow(-1)}, wantErr: "stale window"},
		{name: "zero shared timeout", opts: []Option{WithSharedTimeout(0)}, wantErr: "shared timeout must be positive"},
		{name: "zero shared lease", opts: []Option{WithSharedLease(0)}, wantErr: "shared lease must be positive"},
		{name: "long shared prefix", opts: []Option{WithSharedPrefix(strings.Repeat("p", 129))}, wantErr: "shared prefix is longer than 128"},
		{name: "zero load timeout", opts: []Option{WithLoadTimeout(0)}, wantErr: "load timeout must be positive"},
		{name: "zero bytes", opts: []Option{WithMaxBytes(0)}, wantErr: "max bytes must be positive"},
		{name: "zero entry bytes", opts: []Option{WithMaxEntryBytes(0)}, wantErr: "max entry bytes must be positive"},
		{name: "zero entries", opts: []Option{WithMaxEntries(0)}, wantErr: "max entries must be positive"},
		{name: "nil clock", opts: []Option{WithClock(nil)}, wantErr: "clock must not be nil"},
		{name: "entry cap above budget", opts: []Option{WithMaxBytes(1000), WithMaxEntryBytes(1001)}, wantErr: "exceed max bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := makeOptions(tt.opts...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("makeOptions() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("makeOptions() error = %v", err)
			}
			if tt.check != nil {
				if err := tt.check(o); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestRegistererRejectsSecondCache(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(WithRegisterer(reg)); err != nil {
		t.Fatalf("New() error = %v", err)
	}
	if _, err := New(WithRegisterer(reg)); err == nil {
		t.Fatal("second New() on one registry error = nil, want already registered")
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "kind" {
					t.Errorf("%s has label %q, want only kind", mf.GetName(), l.GetName())
				}
			}
		}
	}
}
