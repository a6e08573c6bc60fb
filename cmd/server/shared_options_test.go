package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regapi/regapi/internal/config"
)

func TestParseOptionsSharedCache(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(dir, "redis-pass")
	if err := os.WriteFile(pass, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := func(body string) string {
		p := filepath.Join(t.TempDir(), "regapi.yaml")
		if err := os.WriteFile(p, []byte("upstreams: [{name: hub, url: https://registry.example}]\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{"REDIS_PASS": "from-env"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config.CacheShared // URL, prefix, timeout, password checked
		wantErr string
	}{
		{name: "off by default", args: []string{"--demo"},
			want: config.CacheShared{Prefix: "regapi:", Timeout: config.Duration(50 * time.Millisecond)}},
		{name: "flag", args: []string{"--demo", "--cache-shared-url", "redis://redis:6379/0", "--cache-shared-password-file", pass},
			want: config.CacheShared{URL: "redis://redis:6379/0", Prefix: "regapi:", Timeout: config.Duration(50 * time.Millisecond), ResolvedPassword: "s3cret"}},
		{name: "variable", args: []string{"--demo"}, env: map[string]string{"REGAPI_CACHE_SHARED_URL": "rediss://user@redis:6380"},
			want: config.CacheShared{URL: "rediss://user@redis:6380", Prefix: "regapi:", Timeout: config.Duration(50 * time.Millisecond)}},
		{name: "file", args: []string{"--config", file("cache: {shared: {url: 'redis://r:6379', password_env: REDIS_PASS, prefix: 'prod:', timeout: 20ms}}\n")},
			want: config.CacheShared{URL: "redis://r:6379", Prefix: "prod:", Timeout: config.Duration(20 * time.Millisecond), ResolvedPassword: "from-env"}},
		{name: "flag wins over file", args: []string{"--config", file("cache: {shared: {url: 'redis://file:6379'}}\n"), "--cache-shared-url", "redis://flag:6379"},
			want: config.CacheShared{URL: "redis://flag:6379", Prefix: "regapi:", Timeout: config.Duration(50 * time.Millisecond)}},
		{name: "password in flag", args: []string{"--demo", "--cache-shared-url", "redis://u:hunter2@redis:6379"}, wantErr: "must not carry a password"},
		{name: "password with a slash", args: []string{"--demo", "--cache-shared-url", "redis://:hunter2/x@redis:6379"}, wantErr: "must not carry a password"},
		{name: "password with a hash", args: []string{"--demo", "--cache-shared-url", "redis://u:hunter2#x@redis:6379"}, wantErr: "must not carry a password"},
		{name: "password in variable", args: []string{"--demo"}, env: map[string]string{"REGAPI_CACHE_SHARED_URL": "redis://:hunter2@redis:6379"}, wantErr: "must not carry a password"},
		{name: "password in file url", args: []string{"--config", file("cache: {shared: {url: 'redis://u:hunter2@r:6379'}}\n")}, wantErr: "password_file"},
		{name: "inline password", args: []string{"--config", file("cache: {shared: {url: 'redis://r:6379', password: hunter2}}\n")}, wantErr: "inline password is not allowed"},
		{name: "http url", args: []string{"--demo", "--cache-shared-url", "http://redis:6379"}, wantErr: "use redis:// or rediss://"},
		{name: "no host", args: []string{"--demo", "--cache-shared-url", "redis://"}, wantErr: "has no host"},
		{name: "missing password file", args: []string{"--demo", "--cache-shared-url", "redis://r:1", "--cache-shared-password-file", filepath.Join(dir, "none")}, wantErr: "password_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if v, ok := tt.env[k]; ok {
					return v
				}
				return env[k]
			}
			o, err := parseOptions(tt.args, getenv, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseOptions() error = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error %q repeats the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseOptions() error = %v", err)
			}
			s := o.cache.Shared
			if s.URL != tt.want.URL || s.Prefix != tt.want.Prefix || s.Timeout != tt.want.Timeout || s.ResolvedPassword != tt.want.ResolvedPassword {
				t.Fatalf("shared = url %q prefix %q timeout %s password set %v, want url %q prefix %q timeout %s password set %v",
					s.URL, s.Prefix, time.Duration(s.Timeout), s.ResolvedPassword != "", tt.want.URL, tt.want.Prefix, time.Duration(tt.want.Timeout), tt.want.ResolvedPassword != "")
			}
		})
	}
}
