package check

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// valuesKey matches a line that sets a key or adds a list item.
var valuesKey = regexp.MustCompile(`^\s*(- )?[A-Za-z0-9_.-]+:|^\s*- `)

// inlineSecretKey matches keys that would carry a secret value in the chart.
var inlineSecretKey = regexp.MustCompile(`(?i)^\s*(- )?(password|token|secret|username)\s*:`)

// quoted matches YAML quoted scalars, where a # is not a comment.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'[^']*'`)

// undocumented returns the 1-based numbers of key lines in values that have
// neither a comment line directly above nor a comment at the end.
func undocumented(values string) []int {
	var missing []int
	lines := strings.Split(values, "\n")
	for i, line := range lines {
		if !valuesKey.MatchString(line) || strings.Contains(quoted.ReplaceAllString(line, `""`), " # ") {
			continue
		}
		if i == 0 || !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#") {
			missing = append(missing, i+1)
		}
	}
	return missing
}

func TestValuesDocumentedLineByLine(t *testing.T) {
	path := filepath.Join(chartDir(t), "values.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, n := range undocumented(string(b)) {
		t.Errorf("values.yaml:%d %q has no comment above it", n, strings.TrimSpace(lines[n-1]))
	}
	for i, line := range lines {
		if inlineSecretKey.MatchString(line) {
			t.Errorf("values.yaml:%d %q: secrets are referenced by Secret name, never set in values", i+1, strings.TrimSpace(line))
		}
	}
}

func TestUndocumented(t *testing.T) {
	tests := []struct {
		name   string
		values string
		want   []int
	}{
		{"documented", "# a\na: 1\n# b\nb:\n  # c\n  c: 2\n", nil},
		{"trailing comment", "a: 1 # the a\n", nil},
		{"missing at top", "a: 1\n", []int{1}},
		{"missing nested", "# b\nb:\n  c: 2\n", []int{3}},
		{"blank line breaks it", "# a\n\na: 1\n", []int{3}},
		{"list items", "# l\nl:\n  # one\n  - 1\n  - 2\n", []int{5}},
		{"comment inside a value is not a comment", "# a\na: 1\nb: \"x # y\"\n", []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := undocumented(tt.values)
			if !slices.Equal(got, tt.want) {
				t.Errorf("undocumented(%q) = %v, want %v", tt.values, got, tt.want)
			}
		})
	}
}
