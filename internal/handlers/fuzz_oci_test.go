package handlers

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// The OCI grammars, from outside this package: distribution/reference's
// expressions (the registry's own), anchored. Whatever the parsers accept
// must match them, so that nothing goes upstream the OCI grammar rejects.
var (
	ociName = regexp.MustCompile(`^(?:` + reference.NameRegexp.String() + `)$`)
	ociTag  = regexp.MustCompile(`^(?:` + reference.TagRegexp.String() + `)$`)
	// ociSpecName is the OCI distribution spec's own expression for
	// <name> ("Pulling manifests"), which the reference one must agree with
	// for a name without a domain.
	ociSpecName = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
)

// checkOCIRepository fails unless repo is a repository name by both the
// distribution reference grammar and the OCI spec, within its length cap.
func checkOCIRepository(t *testing.T, input, repo string) {
	t.Helper()
	if !ociName.MatchString(repo) || !ociSpecName.MatchString(repo) || len(repo) > reference.RepositoryNameTotalLengthMax {
		t.Fatalf("%q: accepted repository %q does not match the OCI name grammar", input, repo)
	}
	if _, err := reference.ParseNamed("example.com/" + repo); err != nil {
		t.Fatalf("%q: accepted repository %q is refused by reference.ParseNamed: %v", input, repo, err)
	}
}

// checkOCIReference fails unless ref is an OCI tag, or a digest that
// go-digest validates, as isDigest says.
func checkOCIReference(t *testing.T, input, ref string, isDigest bool) {
	t.Helper()
	if isDigest {
		if !reference.DigestRegexp.MatchString(ref) || !strings.HasPrefix(ref, "sha256:") {
			t.Fatalf("%q: accepted digest %q does not match the OCI digest grammar", input, ref)
		}
		if _, err := digest.Parse(ref); err != nil {
			t.Fatalf("%q: accepted digest %q is refused by go-digest: %v", input, ref, err)
		}
		return
	}
	if !ociTag.MatchString(ref) {
		t.Fatalf("%q: accepted tag %q does not match the OCI tag grammar", input, ref)
	}
}

// FuzzParseReference: parseReference never panics, answers only 4xx
// errors, and whatever it accepts is an OCI tag or digest.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"latest", "v1.2.3", "_x", "-x", ".x", strings.Repeat("a", 129), testDigest, "@" + testDigest,
		"sha256:" + strings.Repeat("A", 64), "sha512:" + strings.Repeat("a", 128), "@latest", "a:b", "", "é", "v1\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, isDigest, err := parseReference(s)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.code.Status != 400 {
				t.Fatalf("parseReference(%q) error = %v, want a 400 apiError", s, err)
			}
			return
		}
		checkOCIReference(t, s, ref, isDigest)
	})
}

// FuzzValidateRepository: whatever validateRepository accepts is an OCI
// repository name.
func FuzzValidateRepository(f *testing.F) {
	for _, s := range []string{"library/alpine", "a/b/c", "a__b", "a---b", "a._b", "A", "a//b", "/a", "a/", "..", strings.Repeat("a/", 130) + "a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if validateRepository(s) != nil {
			return
		}
		checkOCIRepository(t, s, s)
	})
}

// FuzzParsePlatform: parsePlatform never panics and what it accepts prints
// back as itself.
func FuzzParsePlatform(f *testing.F) {
	for _, s := range []string{"linux/amd64", "linux/arm/v7", "linux", "linux/amd64/v8/x", "/amd64", "linux/", "linux/amd64:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePlatform(s)
		if err != nil || p == nil {
			return
		}
		if p.OS == "" || p.Architecture == "" || platformString(*p) != s {
			t.Fatalf("parsePlatform(%q) = %+v, which prints as %q", s, p, platformString(*p))
		}
	})
}
