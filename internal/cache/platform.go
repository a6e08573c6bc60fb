package cache

import (
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/regapi/regapi/internal/registry"
)

// defaultPlatform is what the registry client picks from an index when no
// platform is named.
var defaultPlatform = v1.Platform{OS: "linux", Architecture: "amd64"}

// platformOf reads image options: the platform asked for (nil: none, or
// linux/amd64 when WithPlatform carries nil), whether one was asked for,
// and whether every option is one the cache knows how to key. Unknown
// options make the call pass through.
func platformOf(opts []registry.ImageGetOption) (p *v1.Platform, given, known bool) {
	for _, o := range opts {
		switch o := o.(type) {
		case registry.WithPlatform:
		case *registry.WithPlatform:
			if o == nil {
				return nil, false, false
			}
		default:
			return nil, false, false
		}
		given = true
	}
	if !given {
		return nil, false, true
	}
	if p = registry.PlatformOf(opts...); p == nil {
		p = &defaultPlatform
	}
	return p, true, true
}

// matchesPlatform is go-containerregistry's rule (pkg/v1/remote, unexported):
// OS and architecture equal; OS version and variant equal when required;
// required features a subset of the given ones.
func matchesPlatform(given, required v1.Platform) bool {
	if given.Architecture != required.Architecture || given.OS != required.OS {
		return false
	}
	if required.OSVersion != "" && given.OSVersion != required.OSVersion {
		return false
	}
	if required.Variant != "" && given.Variant != required.Variant {
		return false
	}
	return isSubset(given.OSFeatures, required.OSFeatures) && isSubset(given.Features, required.Features)
}

func isSubset(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
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
