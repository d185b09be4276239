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

package localrun

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"knative.dev/pkg/apis"
)

// Errors about a YAML document name the line and column of the field they are about, found in the document's
// node tree: FILE:LINE:COL: where: path: message, one line per problem.

// docError is one located problem of a document.
type docError struct {
	file      string
	line, col int
	where     string // "document 2 (Task) train"
	path      string // "spec.steps[0].image"; empty when unknown
	msg       string
}

func (e docError) String() string {
	loc := e.file
	if e.line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.file, e.line, e.col)
	}
	if e.path != "" {
		return fmt.Sprintf("%s: %s: %s: %s", loc, e.where, e.path, e.msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.where, e.msg)
}

var (
	unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)
	duplicateKey = regexp.MustCompile(`key "([^"]+)" already set in map`)
	typeMismatch = regexp.MustCompile(`cannot unmarshal .* into Go struct field [A-Za-z0-9_]+\.([A-Za-z0-9_.\[\]-]+) of type`)
)

// locateDecodeError turns a strict-decode error of the document rooted at doc into a located one.
func locateDecodeError(file, where string, doc *yamlv3.Node, err error) error {
	e := docError{file: file, where: where, msg: err.Error()}
	if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
		name := m[1]
		if i := strings.LastIndex(name, "."); i >= 0 { // newer decoders report the whole path
			e.path, name = name, name[i+1:]
		}
		if n := findKey(doc, name); n != nil {
			e.line, e.col = n.Line, n.Column
		}
		e.msg = fmt.Sprintf("unknown field %q", name)
	} else if m := duplicateKey.FindStringSubmatch(err.Error()); m != nil {
		// The decoder's own line counts from a re-encoded copy of the document: point at the file's.
		if n := findDuplicate(doc, m[1]); n != nil {
			e.line, e.col = n.Line, n.Column
		}
		e.msg = fmt.Sprintf("key %q is set twice in the same mapping", m[1])
	} else if m := typeMismatch.FindStringSubmatch(err.Error()); m != nil {
		e.path = m[1]
		if n := nodeAt(doc, m[1]); n != nil {
			e.line, e.col = n.Line, n.Column
		}
	}
	return errors.New(e.String())
}

// locateValidationError turns Tekton's Validate error (a knative FieldError) into one located line per problem.
func locateValidationError(file, where string, doc *yamlv3.Node, err error) error {
	var fe *apis.FieldError
	if !errors.As(err, &fe) {
		return errors.New(docError{file: file, where: where, msg: err.Error()}.String())
	}
	var lines []string
	for _, w := range fe.WrappedErrors() {
		msg := w.Message
		if w.Details != "" {
			msg += ": " + w.Details
		}
		if len(w.Paths) == 0 {
			lines = append(lines, docError{file: file, where: where, msg: msg}.String())
		}
		for _, p := range w.Paths {
			e := docError{file: file, where: where, path: p, msg: msg}
			if n := nodeAt(doc, p); n != nil {
				e.line, e.col = n.Line, n.Column
			}
			lines = append(lines, e.String())
		}
	}
	return errors.New(strings.Join(lines, "\n"))
}

// findKey returns the first mapping key named name in the tree (depth first, in document order).
func findKey(n *yamlv3.Node, name string) *yamlv3.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yamlv3.DocumentNode || n.Kind == yamlv3.SequenceNode {
		for _, c := range n.Content {
			if k := findKey(c, name); k != nil {
				return k
			}
		}
		return nil
	}
	if n.Kind == yamlv3.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				return n.Content[i]
			}
			if k := findKey(n.Content[i+1], name); k != nil {
				return k
			}
		}
	}
	return nil
}

// findDuplicate returns the second occurrence of key name in any one mapping of the tree.
func findDuplicate(n *yamlv3.Node, name string) *yamlv3.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yamlv3.MappingNode {
		seen := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				if seen {
					return n.Content[i]
				}
				seen = true
			}
		}
	}
	for _, c := range n.Content {
		if d := findDuplicate(c, name); d != nil {
			return d
		}
	}
	return nil
}

// nodeAt returns the node a knative-style path ("spec.steps[0].image", "spec.params[epochs]") names, or the
// deepest node along it that exists (so a missing field points at its parent).
func nodeAt(n *yamlv3.Node, path string) *yamlv3.Node {
	if n != nil && n.Kind == yamlv3.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	cur := n
	for _, part := range splitPath(path) {
		next := step(cur, part)
		if next == nil {
			return cur
		}
		cur = next
	}
	return cur
}

// splitPath splits "spec.steps[0].image" into "spec", "steps", "[0]", "image".
func splitPath(path string) []string {
	var parts []string
	for _, field := range strings.Split(path, ".") {
		for field != "" {
			i := strings.IndexByte(field, '[')
			switch {
			case i < 0:
				parts = append(parts, field)
				field = ""
			case i > 0:
				parts = append(parts, field[:i])
				field = field[i:]
			default:
				j := strings.IndexByte(field, ']')
				if j < 0 {
					parts = append(parts, field)
					field = ""
					continue
				}
				parts = append(parts, field[:j+1])
				field = field[j+1:]
			}
		}
	}
	return parts
}

// step moves one path element down: a mapping key, a sequence index "[2]", or "[name]" matching an element's
// name field (how knative paths name params, workspaces and results).
func step(n *yamlv3.Node, part string) *yamlv3.Node {
	if n == nil {
		return nil
	}
	if strings.HasPrefix(part, "[") && strings.HasSuffix(part, "]") {
		if n.Kind != yamlv3.SequenceNode {
			return nil
		}
		key := part[1 : len(part)-1]
		if i, err := strconv.Atoi(key); err == nil {
			if i >= 0 && i < len(n.Content) {
				return n.Content[i]
			}
			return nil
		}
		for _, el := range n.Content {
			if v := step(el, "name"); v != nil && v.Value == key {
				return el
			}
		}
		return nil
	}
	if n.Kind == yamlv3.SequenceNode {
		// A decoder path without the index ("spec.tasks.retries"): the first element that has the field.
		for _, el := range n.Content {
			if v := step(el, part); v != nil {
				return v
			}
		}
		return nil
	}
	if n.Kind != yamlv3.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == part {
			return n.Content[i+1]
		}
	}
	return nil
}
