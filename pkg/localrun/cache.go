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
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/mlpipe/mlpipe/pkg/store"
)

// The cache.
//
// A task's cache key is the sha256 of a canonical JSON document with:
//   - "spec": the Task's spec after Tekton's param and context substitution
//     (taskrun ApplyParameters + ApplyContexts), before workspace and result
//     paths are filled in, so the same task in two runs has the same spec;
//   - "param:<name>": each TaskRun param value (upstream results already
//     substituted), with the run folder replaced by a placeholder;
//   - "input:<name>": for a param whose value is a file:// URI or an absolute
//     path that exists, the sha256 of that file's (or directory tree's)
//     contents, so a changed dataset or model behind an unchanged URI misses;
//   - "program:<step>": what identifies the host program a step runs (the
//     mlpipe binary for built-in steps, the command, or the script's
//     interpreter): a Go binary's build ID, else its size and modification
//     time, so that a rebuilt step program misses (in a cluster, the image
//     digest plays this part);
//   - "input:<name>" for an s3:// URI: the object's ETag, version and size, or
//     every key, ETag and size under a prefix (store.Fingerprint, with the
//     task's own AWS_* settings); when that fails the task runs uncached;
//   - "workspace:<name>": the sha256 of the bound workspace directory's
//     contents (every file's relative path and content digest) when the task
//     starts: whatever earlier tasks left there is an input.
//
// Other remote URIs are keyed by their text only.
//
// On success the store keeps the results (run folder placeholder-ed) and the
// files the task created or changed in its workspaces. A hit copies those
// files into the new run's workspaces and restores the results.
const cacheVersion = "mlpipe-localrun-cache-v1"

// runDirToken stands for the run folder in keys and stored results.
const runDirToken = "$(mlpipe.run.dir)"

// cacheKey is a key with the components it was computed from.
type cacheKey struct {
	// Sum is the hex sha256 key.
	Sum string `json:"key"`
	// Components are the hashed inputs, by name ("spec", "param:x", "input:x", "workspace:x").
	Components map[string]string `json:"components"`
	// Files lists each workspace's files and digests at task start, for explain.
	Files map[string]map[string]string `json:"files,omitempty"`
	// Spec is the substituted spec, for explain.
	Spec json.RawMessage `json:"spec,omitempty"`
	// Unknown says why an input could not be identified; such a key is neither looked up nor stored.
	Unknown string `json:"-"`
}

// cacheEntry is what the store keeps per key.
type cacheEntry struct {
	Key     string            `json:"key"`
	RunID   string            `json:"runID"`
	Task    string            `json:"task"`
	Created time.Time         `json:"created"`
	Results map[string]string `json:"results"`
	// Outputs are workspace-relative files: workspace name -> paths.
	Outputs map[string][]string `json:"outputs"`
}

// decision is written to tasks/<task>/cache.json for `mlpipe cache explain`.
type decision struct {
	Decision   string    `json:"decision"` // hit, miss, disabled
	Reason     string    `json:"reason,omitempty"`
	CachedFrom string    `json:"cachedFrom,omitempty"`
	Key        *cacheKey `json:"key,omitempty"`
}

type cache struct {
	dir     string // <root>/cache
	runDir  string
	enabled bool

	mu       sync.Mutex
	digests  map[string]fileDigest // path -> memoised digest
	programs map[string]string     // path -> memoised program fingerprint
}

type fileDigest struct {
	size int64
	mod  time.Time
	sum  string
}

func newCache(root, runDir string, enabled bool) *cache {
	return &cache{dir: filepath.Join(root, "cache"), runDir: runDir, enabled: enabled, digests: map[string]fileDigest{}, programs: map[string]string{}}
}

func (c *cache) tokenize(s string) string   { return strings.ReplaceAll(s, c.runDir, runDirToken) }
func (c *cache) detokenize(s string) string { return strings.ReplaceAll(s, runDirToken, c.runDir) }

// key computes a task's cache key.
func (c *cache) key(ctx context.Context, spec *v1.TaskSpec, params v1.Params, wsDirs map[string]string, programs map[string][]string, getenv func(string) string) *cacheKey {
	k := &cacheKey{Components: map[string]string{}, Files: map[string]map[string]string{}}
	for step, paths := range programs {
		var fps []string
		for _, path := range paths {
			fps = append(fps, c.programFingerprint(path))
		}
		k.Components["program:"+step] = strings.Join(fps, "; ")
	}
	specJSON, _ := json.Marshal(spec)
	specJSON = []byte(c.tokenize(string(specJSON)))
	k.Spec = specJSON
	k.Components["spec"] = sha(specJSON)
	for _, p := range params {
		b, _ := json.Marshal(p.Value)
		val := c.tokenize(string(b))
		k.Components["param:"+p.Name] = val
		if p.Value.Type == v1.ParamTypeString {
			if path := localPath(p.Value.StringVal); path != "" {
				if sum, _, err := c.treeDigest(path); err == nil {
					k.Components["input:"+p.Name] = sum
				}
			} else if uri := strings.TrimSpace(p.Value.StringVal); strings.HasPrefix(uri, "s3://") {
				fp, err := c.remoteFingerprint(ctx, uri, getenv)
				if err != nil {
					k.Unknown = fmt.Sprintf("the content behind param %s (%s) cannot be fingerprinted: %v", p.Name, uri, err)
				}
				k.Components["input:"+p.Name] = fp
			}
		}
	}
	for name, dir := range wsDirs {
		sum, files, err := c.treeDigest(dir)
		if err != nil {
			sum = "unreadable: " + err.Error()
		}
		k.Components["workspace:"+name] = sum
		k.Files[name] = files
	}
	doc, _ := json.Marshal(struct {
		V string            `json:"v"`
		C map[string]string `json:"c"`
	}{cacheVersion, k.Components})
	k.Sum = sha(doc)
	return k
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// treeDigest hashes a file, or a directory's files by relative path and content.
func (c *cache) treeDigest(path string) (string, map[string]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", nil, err
	}
	if !info.IsDir() {
		sum, err := c.fileDigest(path, info)
		return sum, nil, err
	}
	files := map[string]string{}
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		sum, err := c.fileDigest(p, fi)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(path, p)
		files[filepath.ToSlash(rel)] = sum
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	h := sha256.New()
	for _, rel := range sortedKeys(files) {
		fmt.Fprintf(h, "%s\x00%s\n", rel, files[rel])
	}
	return hex.EncodeToString(h.Sum(nil)), files, nil
}

func (c *cache) fileDigest(path string, info fs.FileInfo) (string, error) {
	c.mu.Lock()
	d, ok := c.digests[path]
	c.mu.Unlock()
	if ok && d.size == info.Size() && d.mod.Equal(info.ModTime()) {
		return d.sum, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	c.mu.Lock()
	c.digests[path] = fileDigest{size: info.Size(), mod: info.ModTime(), sum: sum}
	c.mu.Unlock()
	return sum, nil
}

func (c *cache) entryDir(key string) string { return filepath.Join(c.dir, key[:2], key) }

// restore copies a hit's outputs and results into this run; nil when no entry.
func (c *cache) restore(k *cacheKey, wsDirs map[string]string, resultsDir string) (*cacheEntry, error) {
	dir := c.entryDir(k.Sum)
	b, err := os.ReadFile(filepath.Join(dir, "entry.json"))
	if os.IsNotExist(err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var e cacheEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	for ws, files := range e.Outputs {
		dst, ok := wsDirs[ws]
		if !ok {
			return nil, fmt.Errorf("cached outputs for workspace %q, which the task no longer binds", ws)
		}
		for _, rel := range files {
			if err := copyFile(filepath.Join(dir, "outputs", ws, rel), filepath.Join(dst, rel)); err != nil {
				return nil, err
			}
		}
	}
	for name, v := range e.Results {
		e.Results[name] = c.detokenize(v)
		if err := os.WriteFile(filepath.Join(resultsDir, name), []byte(e.Results[name]), 0o644); err != nil {
			return nil, err
		}
	}
	return &e, nil
}

// snapshot records size and mtime of every file in the workspaces.
func snapshot(wsDirs map[string]string) map[string]fileDigest {
	snap := map[string]fileDigest{}
	for _, dir := range wsDirs {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					snap[p] = fileDigest{size: fi.Size(), mod: fi.ModTime()}
				}
			}
			return nil
		})
	}
	return snap
}

// store saves a successful task's results and the workspace files it created or changed.
func (c *cache) store(k *cacheKey, task, runID string, wsDirs map[string]string, before map[string]fileDigest, resultsDir string, results []v1.TaskRunResult) error {
	final := c.entryDir(k.Sum)
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	tmp := final + ".tmp-" + runID
	_ = os.RemoveAll(tmp)
	e := cacheEntry{Key: k.Sum, RunID: runID, Task: task, Created: time.Now().UTC(), Results: map[string]string{}, Outputs: map[string][]string{}}
	for _, res := range results {
		v := res.Value.StringVal
		if res.Value.Type != v1.ParamTypeString {
			b, _ := res.Value.MarshalJSON()
			v = string(b)
		}
		e.Results[res.Name] = c.tokenize(v)
	}
	for ws, dir := range wsDirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if old, ok := before[p]; ok && old.size == fi.Size() && old.mod.Equal(fi.ModTime()) {
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			e.Outputs[ws] = append(e.Outputs[ws], filepath.ToSlash(rel))
			return copyFile(p, filepath.Join(tmp, "outputs", ws, rel))
		})
		if err != nil {
			_ = os.RemoveAll(tmp)
			return err
		}
		sort.Strings(e.Outputs[ws])
	}
	b, _ := json.MarshalIndent(e, "", "  ")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "entry.json"), b, 0o644); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.RemoveAll(tmp)
		if _, statErr := os.Stat(final); statErr == nil {
			return nil // a concurrent run stored the same key
		}
		return err
	}
	return nil
}

func (c *cache) writeDecision(taskDir string, k *cacheKey, cachedFrom string) error {
	d := decision{Decision: "miss", Key: k}
	if cachedFrom != "" {
		d.Decision, d.CachedFrom = "hit", cachedFrom
	}
	return writeJSON(filepath.Join(taskDir, "cache.json"), d)
}

func (c *cache) writeDisabled(taskDir, reason string) error {
	return writeJSON(filepath.Join(taskDir, "cache.json"), decision{Decision: "disabled", Reason: reason})
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// programFingerprint identifies the program at path: "go-build-id:<sha256>" of a Go ELF binary's build ID note
// (it changes whenever the binary's content does), else "size:<n> mtime:<unix-ns>", else "missing".
func (c *cache) programFingerprint(path string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fp, ok := c.programs[path]; ok {
		return fp
	}
	fp := "missing"
	if f, err := elf.Open(path); err == nil {
		if sec := f.Section(".note.go.buildid"); sec != nil {
			if data, err := sec.Data(); err == nil {
				fp = "go-build-id:" + sha(data)
			}
		}
		f.Close()
	}
	if fp == "missing" {
		if info, err := os.Stat(path); err == nil {
			fp = fmt.Sprintf("size:%d mtime:%d", info.Size(), info.ModTime().UnixNano())
		}
	}
	c.programs[path] = fp
	return fp
}

// remoteFingerprint fingerprints an s3:// URI when a task starts (not memoised: an earlier task of the same run
// may have written there).
func (c *cache) remoteFingerprint(ctx context.Context, uri string, getenv func(string) string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // the step itself will report an unreachable store
	defer cancel()
	return store.Fingerprint(ctx, uri, getenv)
}
