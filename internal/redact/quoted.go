package redact

import "regexp"

// Replacement is what a redacted quoted value becomes.
const Replacement = `"(redacted)"`

var (
	// quoted finds the quoted strings of a decoder's error message: the
	// JSON decoder uses double quotes, the YAML one backticks.
	quoted = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|`[^`]*`")
	// fieldLike is what a configuration key looks like.
	fieldLike = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	// credentialLike is the inside of a quoted value that looks like a
	// credential: a long run of token characters, or URL userinfo.
	credentialLike = regexp.MustCompile("^(?:[A-Za-z0-9+/=_.~-]{20,}|[^\"`]*://[^\"`@]*@[^\"`]*)$")
)

// Quoted replaces every quoted string of a decoder error that does not look
// like a field name: the decoders quote unknown keys and some values, and a
// secret pasted in the wrong place must not reach the log. Use it where the
// whole document is being decoded and any value may be anything.
func Quoted(msg string) string {
	return quoted.ReplaceAllStringFunc(msg, func(q string) string {
		// Only the JSON decoder's double quotes name keys; a backticked
		// YAML value goes whatever it looks like.
		if q[0] == '"' && FieldName(q[1:len(q)-1]) {
			return q
		}
		return Replacement
	})
}

// FieldName reports whether s looks like a configuration key (lower case
// letters, digits and underscores, at most 32), which an error may repeat:
// a key shaped otherwise may be a secret pasted in the wrong place.
func FieldName(s string) bool { return fieldLike.MatchString(s) }

// Credentials replaces the quoted values of msg that look like a credential
// and leaves other values readable. Use it for the error of one value whose
// key is known not to name a secret, where the value is the useful hint.
func Credentials(msg string) string {
	return quoted.ReplaceAllStringFunc(msg, func(q string) string {
		if credentialLike.MatchString(q[1 : len(q)-1]) {
			return Replacement
		}
		return q
	})
}
