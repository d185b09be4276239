/*
Copyright 2026 The mlpipe Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlpipe/mlpipe/pkg/suggest"
)

// Error is one problem in a spec file, printed as FILE:LINE:COL: field.path: message.
type Error struct {
	File  string
	Pos   Position
	Field string
	Msg   string
}

// Error implements error.
func (e *Error) Error() string {
	loc := e.File
	if e.Pos.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Pos.Line, e.Pos.Column)
	}
	if e.Field == "" {
		return loc + ": " + e.Msg
	}
	return loc + ": " + e.Field + ": " + e.Msg
}

// Warning prints a problem that does not stop mlpipe as FILE:LINE:COL: warning: field.path: message.
func (e *Error) Warning() string {
	w := *e
	w.Field, w.Msg = "warning", e.Msg
	if e.Field != "" {
		w.Msg = e.Field + ": " + e.Msg
	}
	return w.Error()
}

// ErrorList is every problem found in one spec, in file order.
type ErrorList []*Error

// Error implements error: one problem a line.
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// MaxSpecBytes bounds the size of a spec file.
const MaxSpecBytes = 1 << 20

// LoadFile reads, decodes strictly, defaults and validates the spec at path.
func LoadFile(path string) (*MLPipeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("error reading spec: %w", err)
	}
	return Load(path, data)
}

// Load decodes data (read from file) strictly, applies defaults and validates it.
// On failure the error is an ErrorList holding every problem found.
func Load(file string, data []byte) (*MLPipeline, error) {
	l := &loader{file: file, positions: map[string]Position{}, bad: map[string]bool{}}
	p := &MLPipeline{File: file, Dir: filepath.Dir(file)}
	if len(data) > MaxSpecBytes {
		return nil, ErrorList{{File: file, Msg: fmt.Sprintf("spec is %d bytes, more than the %d allowed", len(data), MaxSpecBytes)}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, ErrorList{l.syntaxError(err)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, ErrorList{{File: file, Pos: Position{1, 1}, Msg: "spec is empty: expected an MLPipeline document"}}
	}
	if err := checkSingleDocument(data); err != nil {
		return nil, ErrorList{{File: file, Pos: Position{1, 1}, Msg: err.Error()}}
	}
	l.decode(doc.Content[0], reflect.ValueOf(p).Elem(), "")
	p.positions = l.positions
	p.SetDefaults()
	for _, e := range p.validate() {
		if !l.covered(e.Field) {
			l.errs = append(l.errs, e)
		}
	}
	if len(l.errs) > 0 {
		return nil, l.sorted()
	}
	p.Warnings = byPosition(p.clusterWarnings())
	return p, nil
}

// checkSingleDocument rejects a stream that holds more than one YAML document.
func checkSingleDocument(data []byte) error {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var n yaml.Node
	count := 0
	for {
		err := dec.Decode(&n)
		if err != nil {
			break
		}
		if len(n.Content) > 0 {
			count++
		}
	}
	if count > 1 {
		return errors.New("expected one MLPipeline document, found several (separated by ---)")
	}
	return nil
}

// PositionOf returns where field (or its closest written parent) appears in the file.
func (p *MLPipeline) PositionOf(field string) Position {
	for f := field; f != ""; f = parentField(f) {
		if pos, ok := p.positions[f]; ok {
			return pos
		}
	}
	return Position{1, 1}
}

func parentField(f string) string {
	i := strings.LastIndexAny(f, ".[")
	if i < 0 {
		return ""
	}
	return f[:i]
}

type loader struct {
	file      string
	positions map[string]Position
	errs      ErrorList
	bad       map[string]bool // fields that failed to decode: skip their semantic checks
}

var yamlLine = regexp.MustCompile(`line (\d+)(?:, column (\d+))?: (.*)`)

func (l *loader) syntaxError(err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: l.file, Pos: Position{1, 1}, Msg: "invalid YAML: " + msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Pos.Line, _ = strconv.Atoi(m[1])
		if m[2] != "" {
			e.Pos.Column, _ = strconv.Atoi(m[2])
		}
		e.Msg = "invalid YAML: " + m[3]
	}
	return e
}

func (l *loader) fail(n *yaml.Node, field, format string, args ...any) {
	l.bad[field] = true
	l.errs = append(l.errs, &Error{File: l.file, Pos: Position{n.Line, n.Column}, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// covered reports whether field or one of its parents already failed to decode.
func (l *loader) covered(field string) bool {
	for f := field; f != ""; f = parentField(f) {
		if l.bad[f] {
			return true
		}
	}
	return false
}

func (l *loader) sorted() ErrorList {
	return byPosition(l.errs)
}

// byPosition sorts problems into file order (stable for problems at one position) and returns them.
func byPosition(errs ErrorList) ErrorList {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i].Pos, errs[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return errs
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func joinKey(parent, key string) string {
	if plainKey.MatchString(key) {
		return join(parent, key)
	}
	return parent + "[" + key + "]"
}

// decode walks n against the Go type of v, setting v and reporting unknown
// fields, wrong kinds and bad scalars with their position.
func (l *loader) decode(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if _, ok := l.positions[field]; !ok {
		l.positions[field] = Position{n.Line, n.Column}
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value keeps the zero value (or nil pointer)
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if sf, ok := v.Addr().Interface().(scalarForm); ok && n.Kind == yaml.ScalarNode {
		if err := sf.decodeScalar(n); err != nil {
			l.fail(n, field, "expected true or false, got %q", n.Value)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			l.fail(n, field, "expected a mapping, got %s", describe(n))
			return
		}
		fields := structFields(v.Type())
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			name := k.Value
			f := join(field, name)
			if seen[name] {
				l.fail(k, f, "duplicate field")
				continue
			}
			seen[name] = true
			idx, ok := fields[name]
			if !ok {
				l.fail(k, f, "unknown field %q%s", name, suggest.Hint(name, keys(fields)))
				continue
			}
			l.positions[f] = Position{k.Line, k.Column}
			l.decode(val, v.Field(idx), f)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			l.fail(n, field, "expected a mapping, got %s", describe(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			f := joinKey(field, k.Value)
			if k.Kind != yaml.ScalarNode {
				l.fail(k, field, "map keys must be strings, got %s", describe(k))
				continue
			}
			if v.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
				l.fail(k, f, "duplicate key")
				continue
			}
			l.positions[f] = Position{k.Line, k.Column}
			elem := reflect.New(v.Type().Elem()).Elem()
			l.decode(val, elem, f)
			v.SetMapIndex(reflect.ValueOf(k.Value), elem)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			l.fail(n, field, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			l.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", field, i))
		}
		v.Set(s)
	default:
		if n.Kind != yaml.ScalarNode {
			l.fail(n, field, "expected %s, got %s", kindName(v.Kind()), describe(n))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			l.fail(n, field, "expected %s, got %q", kindName(v.Kind()), n.Value)
		}
	}
}

// scalarForm is a mapping type that also accepts a scalar shorthand (Cache: `cache: true`).
type scalarForm interface {
	decodeScalar(n *yaml.Node) error
}

// decodeScalar implements scalarForm: `cache: true|false`.
func (c *Cache) decodeScalar(n *yaml.Node) error {
	var b bool
	if err := n.Decode(&b); err != nil {
		return err
	}
	c.Enabled = &b
	return nil
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return strconv.Quote(n.Value)
	}
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	}
	return "a " + k.String()
}

func structFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		m[tag] = i
	}
	return m
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
