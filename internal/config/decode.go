package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/regapi/regapi/internal/redact"
)

// decodeStrict decodes data, the configuration file as JSON, into v (a
// pointer to a struct) field by field, so that an error names the key path
// it is about ("timeouts.upstream", "upstreams[1].tls.ca_file"), which
// encoding/json does not do for values that decode themselves. Keys are
// matched exactly (YAML keys are case-sensitive); an unknown key is an
// error. A value is quoted back in an error only when neither its key nor
// its look says it may be a credential.
//
// The key paths the file holds are added to present, so that a value written
// in the file is told from one left out, whatever the value.
func decodeStrict(data []byte, v any, present map[string]bool) error {
	return decoder{present}.value(data, reflect.ValueOf(v).Elem(), "")
}

// decoder records the key paths it decodes.
type decoder struct{ present map[string]bool }

func (d decoder) value(raw []byte, v reflect.Value, path string) error {
	if _, ok := v.Addr().Interface().(json.Unmarshaler); ok {
		return unmarshalAt(raw, v, path)
	}
	switch {
	case v.Kind() == reflect.Struct:
		return d.structure(raw, v, path)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		if isNull(raw) {
			return nil
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return fmt.Errorf("%s: want a list", pathName(path))
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			if err := d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
	return unmarshalAt(raw, v, path)
}

func (d decoder) structure(raw []byte, v reflect.Value, path string) error {
	if isNull(raw) {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return fmt.Errorf("%s: want a mapping of keys to values", pathName(path))
	}
	byKey := fieldsByKey(v.Type())
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i, ok := byKey[k]
		if !ok {
			if redact.FieldName(k) {
				return fmt.Errorf("%s: unknown field %q", pathName(path), k)
			}
			return fmt.Errorf("%s: unknown field (a key that does not look like one is not repeated)", pathName(path))
		}
		if err := d.value(fields[k], v.Field(i), joinPath(path, k)); err != nil {
			return err
		}
		if d.present != nil && !isNull(fields[k]) {
			d.present[joinPath(path, k)] = true
		}
	}
	return nil
}

// fieldsByKey maps the JSON keys of struct type t to field indexes.
func fieldsByKey(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		m[name] = i
	}
	return m
}

// unmarshalAt decodes raw into v and words a failure in terms of the key.
func unmarshalAt(raw []byte, v reflect.Value, path string) error {
	err := json.Unmarshal(raw, v.Addr().Interface())
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: want %s, not %s", pathName(path), kindName(te.Type), jsonKindName(te.Value))
	}
	msg := err.Error()
	if secretKey.MatchString(path) {
		return fmt.Errorf("%s: invalid value (not shown: the key names a secret)", pathName(path))
	}
	return fmt.Errorf("%s: %s", pathName(path), redact.Credentials(msg))
}

// kindName says what a Go type is in the file's terms.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a mapping of keys to values"
	}
	return "a " + t.String()
}

// jsonKindName says what a decoder's JSON value kind is in YAML terms.
func jsonKindName(kind string) string {
	kind, _, _ = strings.Cut(kind, " ") // "number 300" names the value
	switch kind {
	case "array":
		return "a list"
	case "object":
		return "a mapping"
	case "bool":
		return "true or false"
	}
	return "a " + kind
}

// secretKey matches key paths whose values may be secrets themselves.
var secretKey = regexp.MustCompile(`(?i)(password|passwd|secret|token|credential)[^.]*$`)

func isNull(raw []byte) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func pathName(path string) string {
	if path == "" {
		return "the file"
	}
	return path
}
