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

package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Version is the first line of every key's text; changing it changes every key.
const Version = "mlpipe-cache-v2"

// Component name prefixes and names (see the package doc).
const (
	ComponentTask      = "task"
	ComponentParam     = "param:"
	ComponentInput     = "input:"
	ComponentProgram   = "program:"
	ComponentWorkspace = "workspace:"
	ComponentContext   = "context:"
)

// Key is a cache key with the components it was computed from.
type Key struct {
	// Sum is the hex sha256 key.
	Sum string `json:"key"`
	// Components are the named inputs of the key.
	Components map[string]string `json:"components"`
}

// NewKey computes the key of components.
func NewKey(components map[string]string) Key {
	names := make([]string, 0, len(components))
	for n := range components {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", Version)
	for _, n := range names {
		fmt.Fprintf(h, "%s=%s\n", n, strconv.Quote(components[n]))
	}
	return Key{Sum: hex.EncodeToString(h.Sum(nil)), Components: components}
}

// Short is the first 12 characters of a key, for messages.
func Short(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}

// Workspace path tokens.

// WorkspaceToken is the text that stands for workspace name's path in keys and stored results: Tekton's own
// variable, $(workspaces.<name>.path).
func WorkspaceToken(name string) string { return "$(workspaces." + name + ".path)" }

// RunDirToken stands for a local run's folder in keys and stored results (paths outside any workspace).
const RunDirToken = "$(mlpipe.run.dir)"

// Tokenize replaces every workspace path in s (workspaces maps name to path) by its WorkspaceToken, longest
// path first so that a workspace nested in another is replaced by its own token.
func Tokenize(s string, workspaces map[string]string) string {
	for _, name := range byPathLength(workspaces) {
		if p := workspaces[name]; p != "" {
			s = strings.ReplaceAll(s, p, WorkspaceToken(name))
		}
	}
	return s
}

// Detokenize is the inverse of Tokenize: each WorkspaceToken becomes the workspace's path.
func Detokenize(s string, workspaces map[string]string) string {
	for name, p := range workspaces {
		s = strings.ReplaceAll(s, WorkspaceToken(name), p)
	}
	return s
}

func byPathLength(workspaces map[string]string) []string {
	names := make([]string, 0, len(workspaces))
	for n := range workspaces {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if a, b := len(workspaces[names[i]]), len(workspaces[names[j]]); a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	return names
}
