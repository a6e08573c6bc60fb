package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix turns flag --some-name into variable REGAPI_SOME_NAME.
const EnvPrefix = "REGAPI_"

// Setting is one entry of the settings table: everything regapi knows about
// a setting, from which the flag, the variable, the file key, the defaults
// and the configuration reference are all derived.
type Setting struct {
	// Key is the setting's path in the file ("reads.max_file_size"); empty
	// for --config, which names the file.
	Key string
	// Flag is the flag's name without dashes; empty when only the file can
	// hold the setting (structured entries, where a credential comes from).
	Flag string
	// Arg names the flag's value in the reference ("SIZE"); empty for a
	// boolean.
	Arg string
	// Help is the meaning, for --help and the reference.
	Help string
	// Default is the value taken when no flag, variable or file sets it,
	// of the field's type (ByteSize, Duration, int, bool, string,
	// []string). It is the constant of the package that uses the setting
	// when that package has one.
	Default any
	// DefaultText is shown instead of Default when the value is derived
	// at start (a share of the descriptor limit, the system's TMPDIR).
	DefaultText string
	// Helm is where the chart sets it: a path in values.yaml ("ui",
	// "layerCache.maxBytes"), "config" for the config block, which takes
	// any key of the file, or "extraArgs" for a flag only.
	Helm string
	// Check rejects a value no request could work with; it gets the
	// field's value. Nil accepts every value of the type.
	Check func(v any) error

	// field returns a pointer to the setting's field in c; nil for the
	// structured entries merged by the caller (upstreams, tokens).
	field func(c *Config) any
}

// Env is the setting's variable, empty when it has no flag.
func (s Setting) Env() string { return EnvName(s.Flag) }

// EnvName maps a flag name to its variable: shutdown-grace →
// REGAPI_SHUTDOWN_GRACE.
func EnvName(flagName string) string {
	if flagName == "" {
		return ""
	}
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// isList says whether the setting holds a list: its flag may be repeated
// and its variable is comma-separated. A structured entry (upstreams) is
// the caller's to read.
func (s Setting) isList() bool {
	if s.field == nil {
		return false
	}
	_, ok := s.field(&Config{}).(*[]string)
	return ok
}

// isBool says whether the flag may be given without a value.
func (s Setting) isBool() bool {
	if s.field == nil {
		return false
	}
	_, ok := s.field(&Config{}).(*bool)
	return ok
}

// Source says which of the four layers set a value.
type Source int

// The layers, lowest first: a higher one wins.
const (
	FromDefault Source = iota
	FromFile
	FromEnv
	FromFlag
)

// name is how an error names where a bad value came from.
func (s Setting) name(src Source) string {
	switch src {
	case FromFlag:
		return "--" + s.Flag
	case FromEnv:
		return s.Env()
	}
	return s.Key
}

// set parses text into the setting's field of c. A list's text is its
// items, comma-separated or given one per flag.
func (s Setting) set(c *Config, texts []string) error {
	text := ""
	if len(texts) > 0 {
		text = texts[len(texts)-1] // a repeated scalar flag: the last wins
	}
	switch p := s.field(c).(type) {
	case *string:
		*p = text
	case *bool:
		v, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("want true or false, not %q", text)
		}
		*p = v
	case *int:
		v, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("want a whole number, not %q", text)
		}
		*p = v
	case *Duration:
		v, err := time.ParseDuration(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("invalid duration %q: want a form such as \"30s\"", text)
		}
		*p = Duration(v)
	case *ByteSize:
		v, err := ParseByteSize(text)
		if err != nil {
			return err
		}
		*p = v
	case *[]string:
		var items []string
		for _, t := range texts {
			for _, item := range strings.Split(t, ",") {
				if item = strings.TrimSpace(item); item != "" {
					items = append(items, item)
				}
			}
		}
		*p = items
	default:
		return fmt.Errorf("setting %s: field of type %T", s.Key, p)
	}
	return nil
}

// setDefault stores the default in the setting's field of c.
func (s Setting) setDefault(c *Config) error {
	switch p := s.field(c).(type) {
	case *string:
		v, ok := s.Default.(string)
		*p = v
		return typeOK(s, ok || s.Default == nil)
	case *bool:
		v, ok := s.Default.(bool)
		*p = v
		return typeOK(s, ok || s.Default == nil)
	case *int:
		v, ok := s.Default.(int)
		*p = v
		return typeOK(s, ok || s.Default == nil)
	case *Duration:
		v, ok := s.Default.(time.Duration)
		*p = Duration(v)
		return typeOK(s, ok || s.Default == nil)
	case *ByteSize:
		v, ok := s.Default.(ByteSize)
		*p = v
		return typeOK(s, ok || s.Default == nil)
	case *[]string:
		v, ok := s.Default.([]string)
		*p = append([]string(nil), v...)
		return typeOK(s, ok || s.Default == nil)
	}
	return fmt.Errorf("setting %s: field of type %T", s.Key, s.field(c))
}

func typeOK(s Setting, ok bool) error {
	if !ok {
		return fmt.Errorf("setting %s: default %v (%T) is not of the field's type", s.Key, s.Default, s.Default)
	}
	return nil
}

// value is the setting's field of c, dereferenced, for Check.
func (s Setting) value(c *Config) any {
	switch p := s.field(c).(type) {
	case *string:
		return *p
	case *bool:
		return *p
	case *int:
		return *p
	case *Duration:
		return time.Duration(*p)
	case *ByteSize:
		return *p
	case *[]string:
		return *p
	}
	return nil
}

// check runs the setting's Check on its value in c; the error names where
// the value came from.
func (s Setting) check(c *Config, src Source) error {
	if s.Check == nil || s.field == nil {
		return nil
	}
	if err := s.Check(s.value(c)); err != nil {
		return fmt.Errorf("%s: %w", s.name(src), err)
	}
	return nil
}

// Given holds what the command line said, flag by flag, as text.
type Given struct {
	texts map[string][]string
}

// Texts returns the texts given for the flag: one per use of the flag.
func (g *Given) Texts(flagName string) ([]string, bool) {
	t, ok := g.texts[flagName]
	return t, ok
}

// flagValue records a flag's texts, checking each against the type of the
// setting's field so that a bad flag fails at once, as the flag package's
// own do.
type flagValue struct {
	s     Setting
	given *Given
}

func (v flagValue) String() string { return "" }

func (v flagValue) Set(text string) error {
	if v.s.field != nil && !v.s.isList() { // a list's items are checked by its Check
		var scratch Config
		if err := v.s.set(&scratch, []string{text}); err != nil {
			return errors.New(v.s.want())
		}
	}
	// A scalar given twice keeps the last; a list keeps every use.
	v.given.texts[v.s.Flag] = append(v.given.texts[v.s.Flag], text)
	return nil
}

func (v flagValue) IsBoolFlag() bool { return v.s.isBool() }

// Register defines a flag on fs for every setting that has one and returns
// where their texts are kept. The flags carry no defaults of their own:
// Apply fills what nothing set.
func (t Table) Register(fs *flag.FlagSet) *Given {
	g := &Given{texts: map[string][]string{}}
	for _, s := range t {
		if s.Flag == "" {
			continue
		}
		fs.Var(flagValue{s: s, given: g}, s.Flag, s.Help)
	}
	return g
}

// Usage writes --help's list of flags: each with its argument, meaning and
// default, in the table's order, then extra (the flags outside the table).
func (t Table) Usage(w io.Writer, extra ...string) {
	for _, s := range t {
		if s.Flag == "" {
			continue
		}
		line := "  --" + s.Flag
		if s.Arg != "" {
			line += " " + s.Arg
		}
		help := s.Help
		if d := s.DefaultString(); d != "" && d != "false" {
			help += " (default " + d + ")"
		}
		_, _ = fmt.Fprintf(w, "%s\n    \t%s\n", line, help)
	}
	for _, e := range extra {
		_, _ = fmt.Fprintln(w, e)
	}
}

// Table is the list of every setting.
type Table []Setting

// Lookup returns the setting with the key, or false.
func (t Table) Lookup(key string) (Setting, bool) {
	for _, s := range t {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// ByFlag returns the setting with the flag, or false.
func (t Table) ByFlag(name string) (Setting, bool) {
	for _, s := range t {
		if s.Flag == name {
			return s, true
		}
	}
	return Setting{}, false
}

// Layer returns the texts of the highest layer above the file that sets the
// flag's setting: the command line, else its variable (split at commas for
// a list). It returns FromDefault when neither does.
func (t Table) Layer(g *Given, getenv func(string) string, s Setting) ([]string, Source) {
	if s.Flag == "" {
		return nil, FromDefault
	}
	if texts, ok := g.Texts(s.Flag); ok {
		return texts, FromFlag
	}
	if v := getenv(s.Env()); v != "" {
		return []string{v}, FromEnv
	}
	return nil, FromDefault
}

// Apply lays the command line and the variables over c, the file's values
// (the zero Config without a file), and fills what none of them set with
// the defaults, setting by setting, with one rule for all: a flag wins over
// its variable, a variable over the file, the file over the default. Every
// value is then checked; an error names the flag, variable or key that gave
// the bad value. Structured entries (upstreams, tokens) are left to the
// caller.
func (t Table) Apply(c *Config, g *Given, getenv func(string) string) error {
	if c.sources == nil {
		c.sources = map[string]Source{}
	}
	for _, s := range t {
		if s.field == nil {
			continue
		}
		texts, src := t.Layer(g, getenv, s)
		switch {
		case src != FromDefault:
			if err := s.set(c, texts); err != nil {
				return fmt.Errorf("%s: %w", s.name(src), err)
			}
		case c.Has(s.Key):
			src = FromFile
		default:
			if err := s.setDefault(c); err != nil {
				return err
			}
		}
		c.sources[s.Key] = src
		if err := s.check(c, src); err != nil {
			return err
		}
	}
	return nil
}

// sourced prefixes err with the flag or variable that set key when one did,
// else with section, the file's part the value came from.
func (c *Config) sourced(key, section string, err error) error {
	if src := c.Source(key); src > FromFile {
		if s, ok := Settings.Lookup(key); ok {
			return fmt.Errorf("%s: %w", s.name(src), err)
		}
	}
	return fmt.Errorf("%s: %w", section, err)
}

// want says what a flag of the setting takes, for an error that must not
// quote the value twice (the flag package quotes it).
func (s Setting) want() string {
	switch s.field(&Config{}).(type) {
	case *bool:
		return "want true or false"
	case *int:
		return "want a whole number"
	case *Duration:
		return `want a duration such as "30s"`
	case *ByteSize:
		return `want a size such as "256MiB" or a number of bytes`
	}
	return "invalid value"
}

// checkFile runs every setting's Check on the values the file holds.
func (t Table) checkFile(c *Config) error {
	for _, s := range t {
		if s.field != nil && c.Has(s.Key) {
			if err := s.check(c, FromFile); err != nil {
				return err
			}
		}
	}
	return nil
}

// DefaultString is the default as the reference shows it.
func (s Setting) DefaultString() string {
	if s.DefaultText != "" {
		return s.DefaultText
	}
	switch v := s.Default.(type) {
	case nil:
		return ""
	case string:
		return v
	case time.Duration:
		return FormatDuration(v)
	case ByteSize:
		return v.String()
	case []string:
		return strings.Join(v, ",")
	}
	return fmt.Sprint(s.Default)
}

// FormatDuration writes d the way a person would: 1m, 90s, 1h30m, 50ms.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
