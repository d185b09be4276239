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
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mlpipe/mlpipe/pkg/store"
)

// Digester computes file and tree digests, remembering each file's digest by path, size and modification time
// so that a long run does not hash an unchanged dataset once per task. The zero value is not usable; use
// NewDigester. It is safe for concurrent use.
type Digester struct {
	mu    sync.Mutex
	files map[string]fileStamp
}

type fileStamp struct {
	size int64
	mod  time.Time
	sum  string
}

// NewDigester returns an empty Digester.
func NewDigester() *Digester { return &Digester{files: map[string]fileStamp{}} }

// File returns the hex sha256 of the file at path.
func (d *Digester) File(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return d.file(path, info)
}

func (d *Digester) file(path string, info fs.FileInfo) (string, error) {
	d.mu.Lock()
	s, ok := d.files[path]
	d.mu.Unlock()
	if ok && s.size == info.Size() && s.mod.Equal(info.ModTime()) {
		return s.sum, nil
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
	d.mu.Lock()
	d.files[path] = fileStamp{size: info.Size(), mod: info.ModTime(), sum: sum}
	d.mu.Unlock()
	return sum, nil
}

// Tree digests a file or a directory. For a file it is the file's hex sha256 and files is nil. For a directory
// it is the hex sha256 of one line "<relative path>\x00<file's hex sha256>\n" per regular file, in byte order
// of the slash-separated relative path, and files maps each relative path to its digest.
func (d *Digester) Tree(path string) (sum string, files map[string]string, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", nil, err
	}
	if !info.IsDir() {
		sum, err := d.file(path, info)
		return sum, nil, err
	}
	files = map[string]string{}
	err = filepath.WalkDir(path, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !e.Type().IsRegular() {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		sum, err := d.file(p, fi)
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
	return ListDigest(files), files, nil
}

// ListDigest is the digest of a directory whose files (relative path -> hex sha256) are given (see Tree).
func ListDigest(files map[string]string) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%s\n", n, files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// LocalPath returns the local path a param value names (an absolute path or a file:// URI), else "".
func LocalPath(value string) string {
	value = strings.TrimSpace(value)
	switch {
	case strings.HasPrefix(value, "file://"):
		return strings.TrimPrefix(value, "file://")
	case filepath.IsAbs(value):
		return value
	}
	return ""
}

// FingerprintTimeout bounds how long an s3:// input's fingerprint may take: the step itself reports an
// unreachable store.
const FingerprintTimeout = 10 * time.Second

// Inputs are what a task's key is computed from.
type Inputs struct {
	// Task is the Task's digest (the "task" component).
	Task string
	// Params are the resolved param values (array and object values as JSON), before tokenizing.
	Params map[string]string
	// Workspaces maps each bound workspace to its path, for tokens and local inputs.
	Workspaces map[string]string
	// RunDir is a local run's folder: in params, after the workspaces, it becomes RunDirToken.
	RunDir string
	// Programs maps each step to its program identity.
	Programs map[string]string
	// Context maps each $(context.…) variable the spec references (without "context.") to its value.
	Context map[string]string
	// DigestWorkspaces adds a "workspace:<name>" component per workspace (tasks that are not built-in steps).
	DigestWorkspaces bool
	// Getenv supplies the AWS_* settings for s3:// inputs (nil: the process environment).
	Getenv func(string) string
}

// UnknownInputError says that an input could not be identified: such a task is neither looked up nor stored.
type UnknownInputError struct {
	Param, URI string
	Err        error
}

// Error implements error.
func (e *UnknownInputError) Error() string {
	return fmt.Sprintf("the content behind param %s (%s) cannot be fingerprinted: %v", e.Param, e.URI, e.Err)
}

// Unwrap returns the cause.
func (e *UnknownInputError) Unwrap() error { return e.Err }

// Key computes the key of in. files holds each digested workspace's files (relative path -> digest), for
// explain. err is an *UnknownInputError when an s3:// input cannot be fingerprinted.
func (d *Digester) Key(ctx context.Context, in Inputs) (k Key, files map[string]map[string]string, err error) {
	c := map[string]string{ComponentTask: in.Task}
	for step, id := range in.Programs {
		c[ComponentProgram+step] = id
	}
	for name, v := range in.Context {
		c[ComponentContext+name] = v
	}
	for name, v := range in.Params {
		if IsOwnParam(name) {
			continue
		}
		c[ComponentParam+name] = Tokenize(v, in.Workspaces)
		if in.RunDir != "" {
			c[ComponentParam+name] = strings.ReplaceAll(c[ComponentParam+name], in.RunDir, RunDirToken)
		}
		if p := LocalPath(v); p != "" {
			if sum, _, err := d.Tree(p); err == nil {
				c[ComponentInput+name] = sum
			}
		} else if uri := strings.TrimSpace(v); strings.HasPrefix(uri, "s3://") {
			fctx, cancel := context.WithTimeout(ctx, FingerprintTimeout)
			fp, ferr := store.Fingerprint(fctx, uri, in.Getenv)
			cancel()
			if ferr != nil && err == nil {
				err = &UnknownInputError{Param: name, URI: uri, Err: ferr}
			}
			c[ComponentInput+name] = fp
		}
	}
	if in.DigestWorkspaces {
		files = map[string]map[string]string{}
		for name, dir := range in.Workspaces {
			sum, fs, werr := d.Tree(dir)
			if werr != nil {
				sum = "unreadable: " + werr.Error()
			}
			c[ComponentWorkspace+name] = sum
			files[name] = fs
		}
	}
	return NewKey(c), files, err
}
