package config

import (
	"strings"
)

// Reference writes the settings as the Markdown table of the configuration
// reference: key, flag, variable, default and meaning, one row each.
func (t Table) Reference() string {
	var b strings.Builder
	b.WriteString("| Key in the file | Flag | Variable | Default | Meaning |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, s := range t {
		key := code(s.Key)
		flagText := ""
		if s.Flag != "" {
			flagText = "--" + s.Flag
			if s.Arg != "" {
				flagText += " " + s.Arg
			}
			flagText = code(flagText)
		}
		def := code(s.DefaultString())
		if s.DefaultText != "" {
			def = s.DefaultText // words, not a value
		}
		b.WriteString("| " + key + " | " + flagText + " | " + code(s.Env()) + " | " + def + " | " + cell(s.Help) + " |\n")
	}
	return b.String()
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + s + "`"
}

// cell keeps a table cell on one row.
func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
