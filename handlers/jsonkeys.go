package handlers

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/virtportal/virtportal/fault"
)

// encoding/json matches object keys to fields case-insensitively and lets
// the last of two equal keys win, so {"username":"bob","USERNAME":"tim"}
// would log in tim while a proxy or a log reads bob. Request bodies must
// spell every key once, exactly.
var (
	codeDuplicateKey = fault.Define("duplicate_key", fault.Invalid)
	codeKeyCase      = fault.Define("key_case", fault.Invalid)
)

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// checkKeys walks the JSON document b alongside the Go type t it will be
// decoded into, refusing, in every object at every depth, a key that
// appears twice (as encoding/json compares them: case-folded) and a key
// that names a field of t in other letters. Syntax errors are left to the
// decoder that follows, which reports them with their offset.
func checkKeys(b []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return scanValue(dec, t, "")
}

// foldKey folds a key as encoding/json does when it matches field names.
func foldKey(k string) string {
	var sb strings.Builder
	for _, r := range k {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			sb.WriteRune(r)
			continue
		}
		sb.WriteRune(unicode.ToUpper(unicode.ToLower(r)))
	}
	return sb.String()
}

// fieldNames are the exact JSON names of t's fields, promoted ones too.
func fieldNames(t reflect.Type, into map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			fieldNames(ft, into)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		into[name] = f.Type
	}
}

// scanValue reads one value; t is its Go type, nil when unknown.
func scanValue(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)) {
		t = nil // decodes itself: keys are still checked for duplicates
	}
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = map[string]reflect.Type{}
			fieldNames(t, fields)
		} else if t != nil && t.Kind() == reflect.Map {
			elem = t.Elem()
		}
		folded := map[string]bool{}
		exact := map[string]string{} // folded → the field's exact name
		for n := range fields {
			exact[foldKey(n)] = n
		}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil
			}
			k, _ := kt.(string)
			fk := foldKey(k)
			if folded[fk] {
				return codeDuplicateKey.New("key %q appears twice in %s (keys are compared without case)", truncate(k, 64), where(path))
			}
			folded[fk] = true
			vt := elem
			if fields != nil {
				name, ok := exact[fk]
				if ok && name != k {
					return codeKeyCase.New("key %q in %s must be spelled %q", truncate(k, 64), where(path), name)
				}
				vt = fields[name]
			}
			if err := scanValue(dec, vt, path+"."+k); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // '}'
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := scanValue(dec, elem, path+"[]"); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // ']'
	}
	return nil
}

func where(path string) string {
	if path == "" {
		return "the body"
	}
	return truncate(strings.TrimPrefix(path, "."), 64)
}
