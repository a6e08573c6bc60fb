package auth

import (
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// Action is what a caller wants to do to a repository.
type Action string

// The actions, each implying the ones before it.
const (
	// ActionPull reads: tags, manifests, configs, filesystems, listings.
	ActionPull Action = "pull"
	// ActionPush writes: uploads, the destination of a copy or a sync.
	ActionPush Action = "push"
	// ActionAdmin operates the service: purging the cache.
	ActionAdmin Action = "admin"
)

// grant is a set of actions as bits, so that implication is a mask.
type grant uint8

const (
	grantPull grant = 1 << iota
	grantPush
	grantAdmin
)

// bit returns the action's own bit, or 0 for an unknown action.
func (a Action) bit() grant {
	switch a {
	case ActionPull:
		return grantPull
	case ActionPush:
		return grantPush
	case ActionAdmin:
		return grantAdmin
	}
	return 0
}

// implied returns the action's bit together with those it implies.
func (a Action) implied() grant {
	switch a {
	case ActionPull:
		return grantPull
	case ActionPush:
		return grantPull | grantPush
	case ActionAdmin:
		return grantPull | grantPush | grantAdmin
	}
	return 0
}

// Config is the access-control part of regapi's configuration file.
//
//	allow_anonymous: true
//	tokens:
//	  - name: ci
//	    secret_file: /run/secrets/regapi-ci
//	    scopes:
//	      - registry: internal
//	        repositories: ["team/**"]
//	        actions: [push]
type Config struct {
	// Tokens are the callers that authenticate with a bearer token.
	Tokens []Token `json:"tokens,omitempty"`
	// AllowAnonymous lets callers without a token pull. Which repositories
	// they may pull is AnonymousScopes, by default everything.
	AllowAnonymous bool `json:"allow_anonymous,omitempty"`
	// AnonymousScopes narrows what anonymous callers may pull. Only the
	// pull action is accepted here. Empty means pull on every repository
	// of every registry. The scopes are validated either way but only take
	// effect when AllowAnonymous is true.
	AnonymousScopes []Scope `json:"anonymous_scopes,omitempty"`
}

// Token is one caller. Exactly one of SecretFile, SecretEnv and SHA256
// names its secret; the secret itself is never written in the
// configuration.
type Token struct {
	// Name identifies the caller in logs and metrics. It is not secret.
	Name string `json:"name"`
	// SecretFile is a file holding the secret; surrounding whitespace (a
	// trailing newline) is ignored.
	SecretFile string `json:"secret_file,omitempty"`
	// SecretEnv is an environment variable holding the secret.
	SecretEnv string `json:"secret_env,omitempty"`
	// SHA256 is the hex SHA-256 digest of the secret, for configurations
	// that must not hold the secret at all.
	SHA256 string `json:"sha256,omitempty"`
	// Scopes are what the token may do.
	Scopes []Scope `json:"scopes"`

	// Inline records that the configuration wrote a "secret:" field, which
	// New rejects. The value written there is discarded unread.
	Inline InlineSecret `json:"secret,omitempty"`
}

// Scope grants actions on the repositories of a registry that match any
// of the patterns.
type Scope struct {
	// Registry is a configured upstream's name, or a glob over names
	// ("*" is every registry).
	Registry string `json:"registry"`
	// Repositories are repository path patterns; see the package
	// documentation for the syntax.
	Repositories []string `json:"repositories"`
	// Actions are pull, push and admin.
	Actions []Action `json:"actions"`
}

// InlineSecret marks a secret written inline in the configuration. It
// remembers only that one was there, never its value.
type InlineSecret bool

// UnmarshalJSON records the field's presence and drops its value.
func (s *InlineSecret) UnmarshalJSON([]byte) error {
	*s = true
	return nil
}

// ParseConfig reads the access-control configuration from YAML (or JSON),
// rejecting unknown fields. It does not load secrets; New does.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return Config{}, fmt.Errorf("auth config: %s", redactQuoted(err.Error()))
	}
	return c, nil
}

// quoted finds the double-quoted strings of a decoder's error message.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// fieldLike is what a configuration key looks like.
var fieldLike = regexp.MustCompile(`^"[a-z][a-z0-9_]{0,31}"$`)

// redactQuoted replaces the quoted strings of a decoder error that do not
// look like a field name: the decoder quotes unknown keys, and a secret
// pasted where a key belongs must not reach the log.
func redactQuoted(msg string) string {
	return quoted.ReplaceAllStringFunc(msg, func(q string) string {
		if fieldLike.MatchString(q) {
			return q
		}
		return `"(redacted)"`
	})
}

// CheckRegistries reports a scope whose registry names, or as a glob
// matches, none of the configured upstreams: a typo there would otherwise
// grant nothing, silently.
func (c Config) CheckRegistries(upstreams []string) error {
	check := func(where string, scopes []Scope) error {
		for _, s := range scopes {
			found := false
			for _, u := range upstreams {
				if matchComponent(s.Registry, u) {
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("%s: scope registry %q matches no configured upstream (have %s)", where, s.Registry, strings.Join(upstreams, ", "))
			}
		}
		return nil
	}
	for _, t := range c.Tokens {
		if err := check(fmt.Sprintf("token %q", t.Name), t.Scopes); err != nil {
			return err
		}
	}
	return check("anonymous_scopes", c.AnonymousScopes)
}
