package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	u := Upstream{Name: "a", Username: "robot", Password: "hunter2", Token: "hunter2"}
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "upstream", u, "password", u.Password)
	j, err := json.Marshal(u) //nolint:gosec // G117: marshalling the secret is the test: it must not show
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(u), fmt.Sprintf("%+v", u), fmt.Sprintf("%#v", u), string(j), buf.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("printed upstream %q shows the secret", s)
		}
	}
	if got := u.Password.Reveal(); got != "hunter2" {
		t.Errorf("Reveal() = %q, want %q", got, "hunter2")
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"4096", 4096, true}, {"256MiB", 256 << 20, true}, {"1 GiB", 1 << 30, true},
		{"100MB", 100e6, true}, {"2Ki", 2048, true}, {"7B", 7, true},
		{"-1", 0, false}, {"MiB", 0, false}, {"1.5GiB", 0, false}, {"99999999999TiB", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
