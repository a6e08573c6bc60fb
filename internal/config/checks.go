package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/regapi/regapi/internal/auth"
)

// The settings' checks. Each gets the field's value (time.Duration for a
// Duration) and says what is wrong without the setting's name: Apply and
// Parse prefix the flag, variable or key the value came from.

func positive(v any) error {
	if sign(v) <= 0 {
		return errors.New("must be positive")
	}
	return nil
}

func nonNegative(v any) error {
	if sign(v) < 0 {
		return errors.New("must not be negative")
	}
	return nil
}

// sign is -1, 0 or 1 as the number v is below, at or above zero.
func sign(v any) int {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case time.Duration:
		n = int64(x)
	case ByteSize:
		n = int64(x)
	}
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func between(lo, hi int) func(any) error {
	return func(v any) error {
		if n := v.(int); n < lo || n > hi {
			return fmt.Errorf("%d: want %d to %d", n, lo, hi)
		}
		return nil
	}
}

func oneOf(values ...string) func(any) error {
	want := strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
	return func(v any) error {
		for _, w := range values {
			if v.(string) == w {
				return nil
			}
		}
		return fmt.Errorf("%q: want %s", v, want)
	}
}

// checkAddr catches the common slip of a bare port for an address to
// listen on; empty is left to the setting (the metrics address is
// optional).
func checkAddr(v any) error {
	addr := v.(string)
	if addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		if _, convErr := strconv.Atoi(addr); convErr == nil {
			return fmt.Errorf("address %q has no host part: write \":%s\" to listen on port %s of every interface", addr, addr, addr)
		}
		return fmt.Errorf("address %q: want host:port, e.g. \":8080\" or \"127.0.0.1:8080\"", addr)
	}
	return nil
}

// checkLogLevel takes what slog takes: debug, info, warn or error, in any
// case.
func checkLogLevel(v any) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(v.(string))); err != nil {
		return fmt.Errorf("%q: want debug, info, warn or error", v)
	}
	return nil
}

func checkPlatform(v any) error {
	_, err := ParsePlatform(v.(string))
	return err
}

func checkOrigins(v any) error { return auth.CheckOrigins(v.([]string)) }

func checkProxies(v any) error {
	_, err := auth.ParseTrustedProxies(v.([]string))
	return err
}

func checkSharedURL(v any) error {
	if u := v.(string); u != "" {
		return CheckSharedURL(u)
	}
	return nil
}
