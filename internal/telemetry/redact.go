package telemetry

import (
	"errors"
	"net/url"
	"strings"
)

// RedactURL returns u without userinfo, query and fragment: token realms
// carry scopes and some storage redirects carry signed credentials in the
// query, and userinfo is a password.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.ForceQuery = false
	c.Fragment = ""
	c.RawFragment = ""
	return c.String()
}

// RedactError returns err's message with the URL of any *url.Error in its
// chain redacted as by RedactURL.
func RedactError(err error) string {
	if err == nil {
		return ""
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err.Error()
	}
	var redacted string
	if u, perr := url.Parse(ue.URL); perr == nil {
		redacted = RedactURL(u)
	} else {
		redacted = "<unparseable url>"
	}
	c := *ue
	c.URL = redacted
	if ue == err { //nolint:errorlint // identity: is the url.Error the outermost error?
		return c.Error()
	}
	// The url.Error sits inside other wrapping: rebuild only its part.
	return strings.Replace(err.Error(), ue.Error(), c.Error(), 1)
}
