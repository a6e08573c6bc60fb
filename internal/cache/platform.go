package cache

import (
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
)

// platformOf reads image options: the platform asked for (nil when none is,
// WithPlatform{Platform: nil} included, as the client reads it), and whether
// every option is one the cache knows how to key. Unknown options make the
// call pass through.
func platformOf(opts []registry.ImageGetOption) (p *v1.Platform, known bool) {
	for _, o := range opts {
		switch o := o.(type) {
		case registry.WithPlatform:
		case *registry.WithPlatform:
			if o == nil {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	if len(opts) == 0 {
		return nil, true // PlatformOf would allocate its options on every hit
	}
	return registry.PlatformOf(opts...), true
}

// platformKey spells every field of p that matching looks at.
func platformKey(p *v1.Platform) string {
	return strings.Join([]string{p.OS, p.Architecture, p.Variant, p.OSVersion,
		strings.Join(p.OSFeatures, ","), strings.Join(p.Features, ",")}, "/")
}

// digestOf returns the digest a reference names ("@sha256:…", "sha256:…",
// or "name@sha256:…"), or false for a tag.
func digestOf(ref string) (string, bool) {
	s := ref
	if i := strings.LastIndexByte(ref, '@'); i >= 0 {
		s = ref[i+1:]
	} else if strings.IndexByte(ref, ':') < 0 {
		return "", false // tags cannot hold a colon
	}
	algo, hex, ok := strings.Cut(s, ":")
	if ok && algo == "sha256" && len(hex) == 64 && isLowerHex(hex) {
		return s, true
	}
	if _, err := v1.NewHash(s); err == nil {
		return s, true
	}
	return "", false
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
