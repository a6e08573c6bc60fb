package config

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// TestSettingsTable: the table is well formed, and complete: every key the
// file can hold is a setting, so nothing has a default, flag or check
// outside the table.
func TestSettingsTable(t *testing.T) {
	keys, flags := map[string]bool{}, map[string]bool{}
	for _, s := range Settings {
		if s.Key == "" && s.Flag != "config" {
			t.Errorf("setting --%s has no key", s.Flag)
		}
		if s.Help == "" {
			t.Errorf("setting %s has no help", s.Key)
		}
		if keys[s.Key] && s.Key != "" {
			t.Errorf("key %s is in the table twice", s.Key)
		}
		keys[s.Key] = true
		if s.Flag != "" {
			if flags[s.Flag] {
				t.Errorf("flag --%s is in the table twice", s.Flag)
			}
			flags[s.Flag] = true
		}
		if s.field == nil {
			continue
		}
		var c Config
		if err := s.setDefault(&c); err != nil {
			t.Error(err)
		}
		if err := s.check(&c, FromDefault); err != nil {
			t.Errorf("the default of %s fails its own check: %v", s.Key, err)
		}
		if s.isBool() && s.Arg != "" || !s.isBool() && s.Arg == "" && s.Flag != "" {
			t.Errorf("setting %s: a value's flag names its argument, a boolean's does not", s.Key)
		}
	}
	for _, key := range fileKeys(reflect.TypeFor[Config](), "") {
		if !keys[key] {
			t.Errorf("the file's key %s is not in the settings table", key)
		}
	}
}

// fileKeys lists the key paths of t's JSON fields down to the leaves; a
// list of entries or a raw document is one key.
func fileKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" || name == "password" {
			continue // password is there to refuse an inline one
		}
		key := prefix + name
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, fileKeys(f.Type, key+".")...)
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// TestPrecedence: for every setting with a flag, the same rule: the default
// when nothing sets it, the file over the default, the variable over the
// file, the flag over the variable. Each layer gives a value the layer below
// did not, so a setting that skipped one would fail.
func TestPrecedence(t *testing.T) {
	unchecked := slices.Clone(Settings) // the rule, not the values' checks
	for i := range unchecked {
		unchecked[i].Check = nil
	}
	for _, s := range unchecked {
		if s.field == nil || s.Flag == "" {
			continue
		}
		t.Run(s.Key, func(t *testing.T) {
			var want Config
			if err := s.setDefault(&want); err != nil {
				t.Fatal(err)
			}
			values := layerValues(s, s.value(&want))
			for top := FromDefault; top <= FromFlag; top++ {
				var file []byte
				env := map[string]string{}
				var args []string
				if top >= FromFile {
					file = fileWith(t, s.Key, values[FromFile])
				}
				if top >= FromEnv {
					env[s.Env()] = text(values[FromEnv])
				}
				if top >= FromFlag {
					args = []string{"--" + s.Flag + "=" + text(values[FromFlag])}
				}
				c := Config{present: map[string]bool{}}
				if file != nil {
					if err := decodeStrict(file, &c, c.present); err != nil {
						t.Fatal(err)
					}
				}
				fs := flag.NewFlagSet("t", flag.ContinueOnError)
				given := unchecked.Register(fs)
				if err := fs.Parse(args); err != nil {
					t.Fatal(err)
				}
				if err := unchecked.Apply(&c, given, func(k string) string { return env[k] }); err != nil {
					t.Fatal(err)
				}
				if got := s.value(&c); !reflect.DeepEqual(got, values[top]) {
					t.Errorf("with layers up to %d: %s = %v, want %v", top, s.Key, got, values[top])
				}
				if got := c.Source(s.Key); got != top {
					t.Errorf("with layers up to %d: source of %s = %d", top, s.Key, got)
				}
			}
		})
	}
}

// layerValues returns a value per layer, each unlike the one below it.
func layerValues(s Setting, def any) [4]any {
	switch d := def.(type) {
	case bool:
		return [4]any{d, !d, d, !d}
	case int:
		return [4]any{d, d + 11, d + 12, d + 13}
	case time.Duration:
		return [4]any{d, d + 11*time.Second, d + 12*time.Second, d + 13*time.Second}
	case ByteSize:
		return [4]any{d, d + 11<<10, d + 12<<10, d + 13<<10}
	case []string:
		return [4]any{d, []string{"f1", "f2"}, []string{"e1"}, []string{"g1", "g2"}}
	case string:
		return [4]any{d, d + "-file", d + "-env", d + "-flag"}
	}
	panic(fmt.Sprintf("setting %s: no values for %T", s.Key, def))
}

// text writes a value as a flag or variable gives it.
func text(v any) string {
	switch x := v.(type) {
	case time.Duration:
		return x.String()
	case ByteSize:
		return fmt.Sprint(int64(x))
	case []string:
		return strings.Join(x, ",")
	}
	return fmt.Sprint(v)
}

// fileWith returns a file, as JSON, setting key to v.
func fileWith(t *testing.T, key string, v any) []byte {
	t.Helper()
	switch x := v.(type) {
	case time.Duration:
		v = x.String()
	case ByteSize:
		v = int64(x)
	}
	parts := strings.Split(key, ".")
	doc := map[string]any{parts[len(parts)-1]: v}
	for i := len(parts) - 2; i >= 0; i-- {
		doc = map[string]any{parts[i]: doc}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	referenceFile  = "../../docs/configuration.md"
	referenceBegin = "<!-- settings reference: generated from internal/config/settings.go; REGAPI_UPDATE_REFERENCE=1 go test ./internal/config rewrites it -->\n"
	referenceEnd   = "<!-- end of the settings reference -->\n"
)

// TestReference: the configuration reference is the table's, row for row.
// REGAPI_UPDATE_REFERENCE=1 writes it.
func TestReference(t *testing.T) {
	b, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	before, rest, ok := strings.Cut(doc, referenceBegin)
	_, after, ok2 := strings.Cut(rest, referenceEnd)
	if !ok || !ok2 {
		t.Fatalf("%s has no generated settings reference between %q and %q", referenceFile, referenceBegin, referenceEnd)
	}
	want := before + referenceBegin + Settings.Reference() + referenceEnd + after
	if os.Getenv("REGAPI_UPDATE_REFERENCE") == "1" {
		// The path is the constant above.
		if err := os.WriteFile(referenceFile, []byte(want), 0o600); err != nil { //nolint:gosec // G703: see above
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("%s is not the settings table's reference (REGAPI_UPDATE_REFERENCE=1 go test ./internal/config -run TestReference rewrites it):\n%s", referenceFile, diff)
	}
	for _, s := range Settings {
		if s.Flag != "" && !strings.Contains(doc, "`--"+s.Flag) {
			t.Errorf("%s does not name --%s", referenceFile, s.Flag)
		}
	}
}

// TestReferenceExample: the YAML example of the reference is a valid file
// that sets only keys of the table.
func TestReferenceExample(t *testing.T) {
	b, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```\n")
	if !ok || !ok2 {
		t.Fatalf("%s has no YAML example", referenceFile)
	}
	doc, err := yaml.YAMLToJSONStrict([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	c := Config{present: map[string]bool{}}
	if err := decodeStrict(doc, &c, c.present); err != nil {
		t.Fatalf("the example does not decode: %v", err)
	}
	if err := Settings.checkFile(&c); err != nil {
		t.Errorf("the example fails a check: %v", err)
	}
}

// TestHelmValues: the chart reaches every setting: through a value of its
// own, through its config block (any key of the file) or through extraArgs
// (any flag), and each value named exists in values.yaml.
func TestHelmValues(t *testing.T) {
	b, err := os.ReadFile("../../deploy/helm/regapi/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		switch s.Helm {
		case "":
			t.Errorf("setting %s%s names no way the chart sets it", s.Key, s.Flag)
		case "config":
			if _, ok := values["config"]; !ok || (s.Key == "" && s.Flag != "config") {
				t.Errorf("setting %s: the chart's config block cannot hold it", s.Key)
			}
		case "extraArgs":
			if _, ok := values["extraArgs"]; !ok || s.Flag == "" {
				t.Errorf("setting %s: extraArgs cannot give it", s.Key)
			}
		default:
			var node any = values
			found := true
			for _, part := range strings.Split(s.Helm, ".") {
				m, ok := node.(map[string]any)
				if node, found = m[part]; !ok || !found {
					found = false
					break
				}
			}
			if !found {
				t.Errorf("setting %s: values.yaml has no %s", s.Key, s.Helm)
			}
		}
	}
}
