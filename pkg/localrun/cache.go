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
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	trresources "github.com/tektoncd/pipeline/pkg/reconciler/taskrun/resources"

	"github.com/mlpipe/mlpipe/pkg/cache"
	"github.com/mlpipe/mlpipe/pkg/cache/taskdigest"
)

// The cache.
//
// A task's key is pkg/cache's (see its package doc), computed from the TaskRun as this runner resolves it:
//   - "task": the digest the generator put into the Task (env MLPIPE_CACHE_TASK), else taskdigest.Digest of
//     the Task's spec as written;
//   - "param:<name>": every param of the Task, the TaskRun's value (upstream results substituted) or the
//     default, with the workspace folders of this run replaced by $(workspaces.<name>.path);
//   - "input:<name>": what a param's file path, file:// or s3:// URI names (with the task's own AWS_*
//     settings for s3://; when that fails the task runs uncached);
//   - "program:<step>": the built-in steps' build identity (cache.ProgramIdentity) when this binary runs them,
//     as mlpipe-step's in a Pod; other programs (interpreters, commands, a SelfCommand of tests) by their
//     files (cache.BinaryID: a Go binary's build ID, else the file's sha256);
//   - "context:<var>": the value of each $(context.…) variable the Task's spec references;
//   - "workspace:<name>": for a task that is not all built-in steps, its workspaces' contents at task start.
//
// So a built-in step's task has the same key here and in a Pod, and a shared store (Options.CacheStore) lets
// one reuse the other's entries. On success the store keeps the results and the workspace files the task
// created or changed; a hit restores them into this run's workspaces, each file's digest checked first.

// cacheKey is a key with what explain needs besides its components.
type cacheKey struct {
	cache.Key
	// Files lists each workspace's files and digests at task start, for explain.
	Files map[string]map[string]string `json:"files,omitempty"`
	// Spec is the Task's spec as written, for explain.
	Spec json.RawMessage `json:"spec,omitempty"`
	// Unknown says why an input could not be identified; such a key is neither looked up nor stored.
	Unknown string `json:"-"`
}

// decision is written to tasks/<task>/cache.json for `mlpipe cache explain`.
type decision struct {
	Decision   string    `json:"decision"` // hit, miss, disabled
	Reason     string    `json:"reason,omitempty"`
	CachedFrom string    `json:"cachedFrom,omitempty"`
	Key        *cacheKey `json:"key,omitempty"`
}

type localCache struct {
	entries *cache.Cache
	runDir  string
	enabled bool
	digests *cache.Digester

	mu       sync.Mutex
	programs map[string]string // path -> memoised program fingerprint
}

// newCache opens the run's cache: storeURI, else <root>/cache.
func newCache(ctx context.Context, root, storeURI, runDir string, enabled bool, clk interface{ Now() time.Time }) (*localCache, error) {
	if storeURI == "" {
		abs, err := filepath.Abs(filepath.Join(root, "cache"))
		if err != nil {
			return nil, err
		}
		storeURI = abs
	}
	c, err := cache.Open(ctx, storeURI, 0, passiveClock{clk})
	if err != nil {
		return nil, err
	}
	return &localCache{entries: c, runDir: runDir, enabled: enabled, digests: cache.NewDigester(), programs: map[string]string{}}, nil
}

// passiveClock adapts the runner's clock to clock.PassiveClock.
type passiveClock struct{ c interface{ Now() time.Time } }

func (p passiveClock) Now() time.Time                  { return p.c.Now() }
func (p passiveClock) Since(t time.Time) time.Duration { return p.c.Now().Sub(t) }

// tokenize replaces workspace folders, then the run folder, by their tokens.
func (c *localCache) tokenize(s string, wsDirs map[string]string) string {
	return strings.ReplaceAll(cache.Tokenize(s, wsDirs), c.runDir, cache.RunDirToken)
}

func (c *localCache) detokenize(s string, wsDirs map[string]string) string {
	return cache.Detokenize(strings.ReplaceAll(s, cache.RunDirToken, c.runDir), wsDirs)
}

// keyInputs is what key needs of a TaskRun.
type keyInputs struct {
	taskName string
	spec     *v1.TaskSpec // as written, before substitution
	tr       *v1.TaskRun
	wsDirs   map[string]string
	programs map[string]string // step -> identity
	builtin  bool              // every step is a built-in step program
	getenv   func(string) string
}

// key computes a task's cache key.
func (c *localCache) key(ctx context.Context, in keyInputs) *cacheKey {
	specJSON, _ := json.Marshal(in.spec)
	params := map[string]string{}
	for _, ps := range in.spec.Params {
		if ps.Default != nil {
			params[ps.Name] = paramText(*ps.Default)
		}
	}
	for _, p := range in.tr.Spec.Params {
		params[p.Name] = paramText(p.Value)
	}
	k, files, err := c.digests.Key(ctx, cache.Inputs{
		Task:             taskdigest.FromSpec(in.spec),
		Params:           params,
		Workspaces:       in.wsDirs,
		RunDir:           c.runDir,
		Programs:         in.programs,
		Context:          contextValues(specJSON, in.taskName, in.tr),
		DigestWorkspaces: !in.builtin,
		Getenv:           in.getenv,
	})
	ck := &cacheKey{Key: k, Files: files, Spec: specJSON}
	if err != nil {
		ck.Unknown = err.Error()
	}
	return ck
}

// paramText is a param value as a key component: a string as it is, an array or object as JSON.
func paramText(v v1.ParamValue) string {
	if v.Type == v1.ParamTypeString || v.Type == "" {
		return v.StringVal
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var contextRef = regexp.MustCompile(`\$\(context\.([A-Za-z0-9_.-]+)\)`)

// contextValues resolves each $(context.…) variable spec references, with Tekton's own substitution.
func contextValues(specJSON []byte, taskName string, tr *v1.TaskRun) map[string]string {
	out := map[string]string{}
	for _, m := range contextRef.FindAllStringSubmatch(string(specJSON), -1) {
		probe := &v1.TaskSpec{Steps: []v1.Step{{Name: "probe", Args: []string{m[0]}}}}
		out[m[1]] = trresources.ApplyContexts(probe, taskName, tr).Steps[0].Args[0]
	}
	return out
}

// restore looks the key up and, on a hit, copies the entry's files into this run's workspaces and writes its
// results; nil (and the reason) when there is nothing to reuse.
func (c *localCache) restore(ctx context.Context, k *cacheKey, wsDirs map[string]string, resultsDir string) (*cache.Entry, string, error) {
	e, files, err := c.entries.Lookup(ctx, k.Sum)
	if reason, ok := cache.IsMiss(err); ok {
		return nil, reason, nil
	} else if err != nil {
		return nil, "", err
	}
	if err := cache.Restore(ctx, files, wsDirs); err != nil {
		return nil, "", err
	}
	for name, v := range e.Results {
		e.Results[name] = c.detokenize(v, wsDirs)
		if err := os.WriteFile(filepath.Join(resultsDir, name), []byte(e.Results[name]), 0o644); err != nil {
			return nil, "", err
		}
	}
	return e, "", nil
}

// snapshot records size and mtime of every file in the workspaces.
func snapshot(wsDirs map[string]string) map[string]fileStamp {
	snap := map[string]fileStamp{}
	for _, dir := range wsDirs {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					snap[p] = fileStamp{size: fi.Size(), mod: fi.ModTime()}
				}
			}
			return nil
		})
	}
	return snap
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// store saves a successful task's results and the workspace files it created or changed.
func (c *localCache) store(ctx context.Context, k *cacheKey, pipeline, task, runID string, wsDirs map[string]string, before map[string]fileStamp, results []v1.TaskRunResult) error {
	e := cache.Entry{Key: k.Sum, Pipeline: pipeline, Run: runID, Task: task, Components: k.Components, Results: map[string]string{}}
	for _, res := range results {
		if res.Name == cache.ResultCache || res.Name == cache.ResultKey {
			continue
		}
		v := res.Value.StringVal
		if res.Value.Type != v1.ParamTypeString {
			b, _ := res.Value.MarshalJSON()
			v = string(b)
		}
		e.Results[res.Name] = c.tokenize(v, wsDirs)
	}
	var files []cache.File
	for _, ws := range sortedKeys(wsDirs) {
		dir := wsDirs[ws]
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
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			files = append(files, cache.File{Output: cache.Output{Location: cache.WorkspaceToken(ws), Path: filepath.ToSlash(rel)}, Data: data})
			return nil
		})
		if err != nil {
			return err
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Location+"/"+files[i].Path < files[j].Location+"/"+files[j].Path })
	_, err := c.entries.Store(ctx, e, files)
	return err
}

func (c *localCache) writeDecision(taskDir string, k *cacheKey, cachedFrom string) error {
	d := decision{Decision: "miss", Key: k}
	if cachedFrom != "" {
		d.Decision, d.CachedFrom = "hit", cachedFrom
	}
	return writeJSON(filepath.Join(taskDir, "cache.json"), d)
}

func (c *localCache) writeDisabled(taskDir, reason string) error {
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

// programFingerprint identifies the program at path: cache.BinaryID (a Go binary's build ID, else the file's
// sha256), else "missing".
func (c *localCache) programFingerprint(path string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fp, ok := c.programs[path]; ok {
		return fp
	}
	fp, err := cache.BinaryID(path)
	if err != nil {
		fp = "missing"
	}
	c.programs[path] = fp
	return fp
}
