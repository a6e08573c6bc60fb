package config

import (
	"flag"

	"github.com/regapi/regapi/internal/handlers"
	"strings"
	"testing"
	"time"
)

func TestParseWrites(t *testing.T) {
	tests := []struct {
		name        string
		yaml        string
		wantUploads Uploads
		wantSync    Sync
		wantErr     string
	}{
		{"unset", "listen: ':1'\n", Uploads{}, Sync{}, ""},
		{"set", "uploads: {max_bytes: 512MiB, spool_dir: spool, concurrency: 3, idle_timeout: 30s}\nsync: {concurrency: 8}\n",
			Uploads{MaxBytes: 512 << 20, SpoolDir: "/etc/regapi/spool", Concurrency: 3, IdleTimeout: Duration(30 * time.Second)}, Sync{Concurrency: 8}, ""},
		{"absolute spool dir", "uploads: {spool_dir: /var/spool/regapi}\n", Uploads{SpoolDir: "/var/spool/regapi"}, Sync{}, ""},
		{"negative concurrency", "uploads: {concurrency: -1}\n", Uploads{}, Sync{}, "uploads"},
		{"sync too wide", "sync: {concurrency: 64}\n", Uploads{}, Sync{}, "sync"},
		{"unknown key", "uploads: {max: 1}\n", Uploads{}, Sync{}, "max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "/etc/regapi", func(string) string { return "" })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse() error = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if c.Uploads != tt.wantUploads || c.Sync != tt.wantSync {
				t.Errorf("Parse() = %+v %+v, want %+v %+v", c.Uploads, c.Sync, tt.wantUploads, tt.wantSync)
			}
		})
	}
	var c Config
	if err := Settings.Apply(&c, Settings.Register(flag.NewFlagSet("t", flag.ContinueOnError)), func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if got := c.Uploads; got.MaxBytes != handlers.DefaultMaxUploadBytes || got.Concurrency != handlers.DefaultUploadConcurrency || got.SpoolDir != "" {
		t.Errorf("uploads at their defaults = %+v, want the handlers' defaults and no spool dir", got)
	}
}
