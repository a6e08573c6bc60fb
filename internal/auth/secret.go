package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"syscall"
)

// minSecretLen is the shortest secret accepted from a file or variable.
// Tokens are compared by digest, so their only strength is their entropy;
// 16 characters of a random token is the floor, generate 32 or more
// (`openssl rand -hex 32`).
const minSecretLen = 16

// envNameLike is what an environment variable's name looks like by
// convention.
var envNameLike = regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,63}$`)

// maxSecretFileBytes bounds a secret file; a token is a few dozen bytes and
// a larger file is a mistake (a key bundle, a wrong path).
const maxSecretFileBytes = 4096

// digestOf returns the SHA-256 digest of the token's secret, reading it from
// wherever the configuration says. Errors name the field at fault but quote
// neither the secret nor the file name or variable name: a secret pasted
// into secret_file or secret_env by mistake must not reach a log either.
func digestOf(t Token, getenv func(string) string) ([sha256.Size]byte, error) {
	var zero [sha256.Size]byte
	if t.Inline {
		return zero, fmt.Errorf("inline secret is not allowed: use secret_file, secret_env or sha256")
	}
	sources := 0
	for _, s := range []string{t.SecretFile, t.SecretEnv, t.SHA256} {
		if s != "" {
			sources++
		}
	}
	if sources != 1 {
		return zero, fmt.Errorf("want exactly one of secret_file, secret_env and sha256, have %d", sources)
	}
	switch {
	case t.SHA256 != "":
		b, err := hex.DecodeString(t.SHA256)
		if err != nil || len(b) != sha256.Size {
			return zero, fmt.Errorf("sha256 is not %d hexadecimal digits", 2*sha256.Size)
		}
		return [sha256.Size]byte(b), nil
	case t.SecretEnv != "":
		if getenv == nil {
			return zero, fmt.Errorf("secret_env: no environment to read it from")
		}
		from := "secret_env: the variable"
		if envNameLike.MatchString(t.SecretEnv) {
			// Named when it looks like a variable's name: a secret pasted
			// here by mistake rarely does, and is then not repeated.
			from += " " + t.SecretEnv
		}
		return digestSecret(getenv(t.SecretEnv), from)
	default:
		s, err := readSecretFile(t.SecretFile)
		if err != nil {
			return zero, err
		}
		return digestSecret(s, "secret_file: the file")
	}
}

// readSecretFile reads a bounded secret file. Its errors say what went
// wrong without the path (see digestOf).
func readSecretFile(path string) (string, error) {
	// The path is the operator's, from the config file.
	f, err := os.Open(path) //nolint:gosec // G304: see above
	if err != nil {
		return "", fmt.Errorf("secret_file: %s", fileProblem(err))
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("secret_file: %s", fileProblem(err))
	}
	if len(b) > maxSecretFileBytes {
		return "", fmt.Errorf("secret_file: the file is larger than %d bytes", maxSecretFileBytes)
	}
	return string(b), nil
}

// fileProblem describes a file error without its path.
func fileProblem(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "the file does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "the file is not readable (permission denied)"
	case errors.Is(err, syscall.EISDIR):
		return "the path is a directory"
	}
	return "the file cannot be read"
}

// digestSecret trims surrounding whitespace, checks that the rest can be
// sent in an Authorization header, and hashes it. from names the source
// for errors.
func digestSecret(s, from string) ([sha256.Size]byte, error) {
	var zero [sha256.Size]byte
	s = strings.TrimSpace(s)
	if s == "" {
		return zero, fmt.Errorf("%s is empty or unset", from)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return zero, fmt.Errorf("%s holds a secret with whitespace, control or non-ASCII characters", from)
		}
	}
	if len(s) < minSecretLen {
		return zero, fmt.Errorf("%s holds a secret shorter than %d characters", from, minSecretLen)
	}
	return sha256.Sum256([]byte(s)), nil
}
