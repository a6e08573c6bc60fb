package registry

import (
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultPlatform is what an index resolves to when no platform is named.
var DefaultPlatform = v1.Platform{OS: "linux", Architecture: "amd64"}

// PickPlatform is regapi's one rule for choosing an index entry: it returns
// the position in platforms (the entries' platforms, in index order; nil
// for an entry without one) of the entry for want. An entry whose os,
// architecture and variant all equal want's wins; failing that, the first
// one that differs only by a variant want leaves open, or by arm64's implied
// v8 (linux/arm64 and linux/arm64/v8 are one platform). Names are compared
// without case. Fields other than these (os.version, features) do not
// decide. With no match it returns a *PlatformNotFoundError that lists the
// platforms there are, attestation entries (unknown/unknown) left out.
func PickPlatform(platforms []*v1.Platform, want v1.Platform) (int, error) {
	for _, loose := range []bool{false, true} {
		for i, p := range platforms {
			if p != nil && platformMatches(*p, want, loose) {
				return i, nil
			}
		}
	}
	var available []v1.Platform
	for _, p := range platforms {
		if p != nil && p.OS != "unknown" {
			available = append(available, *p)
		}
	}
	return -1, &PlatformNotFoundError{Platform: want, Available: available}
}

func platformMatches(got, want v1.Platform, loose bool) bool {
	if !strings.EqualFold(got.OS, want.OS) || !strings.EqualFold(got.Architecture, want.Architecture) {
		return false
	}
	if strings.EqualFold(got.Variant, want.Variant) {
		return true
	}
	if !loose {
		return false
	}
	if want.Variant == "" {
		return true
	}
	return strings.EqualFold(got.Architecture, "arm64") && (got.Variant == "" || strings.EqualFold(got.Variant, "v8")) && strings.EqualFold(want.Variant, "v8")
}
