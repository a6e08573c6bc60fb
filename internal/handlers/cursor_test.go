package handlers

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestCursorSealer: a sealed cursor opens to what was sealed under the
// same binding only; any change to it, its binding or its key fails.
func TestCursorSealer(t *testing.T) {
	s := newCursorSealer()
	bind := cursorBinding{principal: "ci", registry: "hub", base: "org", delimited: true}
	want := resumePoint{upstream: "org/hidden/x", prefix: "org/app"}
	c := s.seal(bind, want)
	if !isSealed(c) || strings.Contains(c, "hidden") || strings.Contains(c, "org") {
		t.Fatalf("seal = %q, want an opaque ~ cursor", c)
	}
	if got, err := s.open(bind, c); err != nil || got != want {
		t.Fatalf("open(seal(p)) = %+v, %v; want %+v", got, err, want)
	}
	if c2 := s.seal(bind, want); c2 == c {
		t.Errorf("two seals of one point are equal (%q): the nonce is not fresh", c)
	}

	others := map[string]cursorBinding{
		"principal": {principal: "cj", registry: "hub", base: "org", delimited: true},
		"anonymous": {principal: "ci", anonymous: true, registry: "hub", base: "org", delimited: true},
		"registry":  {principal: "ci", registry: "hub2", base: "org", delimited: true},
		"base":      {principal: "ci", registry: "hub", base: "org/app", delimited: true},
		"delimiter": {principal: "ci", registry: "hub", base: "org"},
	}
	for name, b := range others {
		if _, err := s.open(b, c); err == nil {
			t.Errorf("open under another %s succeeded", name)
		}
	}
	if _, err := newCursorSealer().open(bind, c); err == nil {
		t.Error("open with another process's key succeeded")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(c, sealedPrefix))
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		bad := append([]byte(nil), raw...)
		bad[i] ^= 0x80
		if _, err := s.open(bind, sealedPrefix+base64.RawURLEncoding.EncodeToString(bad)); err == nil {
			t.Fatalf("open with byte %d flipped succeeded", i)
		}
	}
	for _, bad := range []string{"~", "~!!", "~" + strings.Repeat("A", maxSealedCursor), "~AAAA"} {
		if _, err := s.open(bind, bad); err == nil {
			t.Errorf("open(%.20q) succeeded", bad)
		}
	}
}

// TestCursorSealerLargest: the largest resume point the listing seals
// opens again (maxResumeBytes fits maxSealedCursor).
func TestCursorSealerLargest(t *testing.T) {
	s := newCursorSealer()
	bind := cursorBinding{principal: "ci", registry: "hub", base: "org"}
	p := resumePoint{upstream: strings.Repeat("a", maxResumeBytes-3), prefix: "org"}
	c := s.seal(bind, p)
	got, err := s.open(bind, c)
	if err != nil || got != p {
		t.Errorf("open(seal(%d bytes)) = %v, %v (cursor of %d bytes, cap %d)", maxResumeBytes, got, err, len(c), maxSealedCursor)
	}
}
