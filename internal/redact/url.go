package redact

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// URL returns u without userinfo, query and fragment: token realms carry
// scopes, some storage redirects carry signed credentials in the query, and
// userinfo is a password.
func URL(u *url.URL) string {
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

// Error returns err's message with the URL of any *url.Error in its chain
// redacted as by URL, and the rest of the text as by Text.
func Error(err error) string {
	if err == nil {
		return ""
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return Text(err.Error())
	}
	redacted := "<unparseable url>"
	if u, perr := url.Parse(ue.URL); perr == nil {
		redacted = URL(u)
	}
	c := *ue
	c.URL = redacted
	if ue == err { //nolint:errorlint // identity is the point: err is the url.Error itself, not a wrapper of it
		return Text(c.Error())
	}
	// The url.Error sits inside other wrapping: rebuild only its part.
	return Text(strings.Replace(err.Error(), ue.Error(), c.Error(), 1))
}

var (
	// userinfo matches the credentials part of a URL of any scheme, up to
	// the "@" that ends it; it may run over quotes so that a password
	// holding one still goes, and over "/", "?" and "#", which a pasted
	// base64 password holds (a path with an "@" in it goes too: text
	// lost, never a secret kept).
	userinfo = regexp.MustCompile(`://[^@\s]*@`)
	// query matches an http(s) URL's query or fragment, where registries
	// and storage redirects put tokens and signatures, up to the next
	// space or double quote (Go quotes URLs in its errors that way).
	query = regexp.MustCompile(`(https?://[^\s?#"]*)[?#][^\s"]*`)
)

// Text strips URL credentials, queries and fragments from s, an error
// message or other free text, keeping scheme, host and path readable: a
// query becomes "?REDACTED".
func Text(s string) string {
	s = userinfo.ReplaceAllString(s, "://")
	return query.ReplaceAllString(s, "${1}?REDACTED")
}
