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
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/utils/clock"

	"github.com/mlpipe/mlpipe/pkg/store"
)

// Store key prefixes (see the package doc).
const (
	blobsPrefix   = "blobs/sha256/"
	entriesPrefix = "entries/"
	recordsPrefix = "records/"
)

// Cache is a task cache under one store URI.
type Cache struct {
	store  store.Store
	maxAge time.Duration
	clock  clock.PassiveClock
}

// New returns the cache in s. Entries older than maxAge are misses (0: no limit).
func New(s store.Store, maxAge time.Duration, clk clock.PassiveClock) *Cache {
	return &Cache{store: s, maxAge: maxAge, clock: clk}
}

// Open returns the cache under uri (file://, s3:// or a plain path).
func Open(ctx context.Context, uri string, maxAge time.Duration, clk clock.PassiveClock) (*Cache, error) {
	s, err := store.Open(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("error opening the cache store %s: %w", uri, err)
	}
	return New(s, maxAge, clk), nil
}

// URI is the cache's store URI.
func (c *Cache) URI() string { return c.store.URI("") }

// Output is one stored file of an entry.
type Output struct {
	// Location is the directory (or s3:// prefix) the file belongs under, with workspace paths tokenized.
	Location string `json:"location"`
	// Path is the file's slash-separated path below Location.
	Path string `json:"path"`
	// Digest is the hex sha256 of the content; the blob's name.
	Digest string `json:"digest"`
	// Size is the content's length in bytes.
	Size int64 `json:"size"`
}

// File is an Output with its content.
type File struct {
	Output
	Data []byte
}

// Entry is what the cache keeps for a key. Entries are immutable.
type Entry struct {
	Key     string    `json:"key"`
	Version string    `json:"version"`
	Created time.Time `json:"created"`
	// Pipeline, Run and Task say where the entry came from (a PipelineRun or a local run id, a pipeline task).
	Pipeline string `json:"pipeline,omitempty"`
	Run      string `json:"run,omitempty"`
	Task     string `json:"task,omitempty"`
	// Components are the key's components, for explain.
	Components map[string]string `json:"components,omitempty"`
	// Results are the task's results with workspace paths tokenized.
	Results map[string]string `json:"results"`
	// Outputs are the stored files.
	Outputs []Output `json:"outputs"`
}

// From names where an entry came from: "<run>/<task>".
func (e *Entry) From() string {
	switch {
	case e.Run != "" && e.Task != "":
		return e.Run + "/" + e.Task
	case e.Run != "":
		return e.Run
	}
	return e.Task
}

// MissError is a lookup that found nothing reusable, with the reason.
type MissError struct{ Reason string }

// Error implements error.
func (e *MissError) Error() string { return "cache miss: " + e.Reason }

// IsMiss returns the reason of a miss, and false for other errors.
func IsMiss(err error) (string, bool) {
	var m *MissError
	if errors.As(err, &m) {
		return m.Reason, true
	}
	return "", false
}

func miss(format string, args ...any) error { return &MissError{Reason: fmt.Sprintf(format, args...)} }

func entryKey(key string) string { return entriesPrefix + key[:2] + "/" + key + ".json" }

func blobKey(digest string) string { return blobsPrefix + digest[:2] + "/" + digest }

func validKey(key string) bool {
	if len(key) != 64 {
		return false
	}
	_, err := hex.DecodeString(key)
	return err == nil
}

// Lookup returns the entry stored under key and its files, each read from the store and checked against its
// digest. Anything that makes the entry unusable is a *MissError with the reason (no entry, too old, a blob
// missing or changed, an unreadable entry); other errors (the store cannot be reached) are returned as they are.
func (c *Cache) Lookup(ctx context.Context, key string) (*Entry, []File, error) {
	if !validKey(key) {
		return nil, nil, fmt.Errorf("invalid cache key %q", key)
	}
	data, err := c.store.Get(ctx, entryKey(key))
	if errors.Is(err, store.ErrNotExist) {
		return nil, nil, miss("no entry for key %s", Short(key))
	} else if err != nil {
		return nil, nil, err
	}
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil || e.Key != key {
		return nil, nil, miss("the entry for key %s is unreadable or names another key", Short(key))
	}
	if e.Version != Version {
		return nil, nil, miss("the entry for key %s has format %q, want %q", Short(key), e.Version, Version)
	}
	if age := c.clock.Since(e.Created); c.maxAge > 0 && age > c.maxAge {
		return nil, nil, miss("the entry for key %s from %s is %s old, older than the max age %s", Short(key), e.From(), age.Round(time.Second), c.maxAge)
	}
	files := make([]File, 0, len(e.Outputs))
	for _, o := range e.Outputs {
		if !validKey(o.Digest) {
			return nil, nil, miss("the entry for key %s names an invalid blob %q", Short(key), o.Digest)
		}
		blob, err := c.store.Get(ctx, blobKey(o.Digest))
		if errors.Is(err, store.ErrNotExist) {
			return nil, nil, miss("the stored copy of %s of the entry for key %s is gone from the store", path.Join(o.Location, o.Path), Short(key))
		} else if err != nil {
			return nil, nil, err
		}
		if got := sha(blob); got != o.Digest {
			return nil, nil, miss("the stored copy of %s of the entry for key %s changed (sha256 %s, want %s)", path.Join(o.Location, o.Path), Short(key), Short(got), Short(o.Digest))
		}
		files = append(files, File{Output: o, Data: blob})
	}
	return &e, files, nil
}

// Store writes the blobs of files, then e with them as its outputs, Version and the creation time set.
// stored is false when the key already had an entry: the first writer wins, and entries never change.
func (c *Cache) Store(ctx context.Context, e Entry, files []File) (stored bool, err error) {
	if !validKey(e.Key) {
		return false, fmt.Errorf("invalid cache key %q", e.Key)
	}
	e.Version, e.Created, e.Outputs = Version, c.clock.Now().UTC(), make([]Output, 0, len(files))
	for _, f := range files {
		o := f.Output
		o.Digest, o.Size = sha(f.Data), int64(len(f.Data))
		if err := c.store.Create(ctx, blobKey(o.Digest), f.Data); err != nil && !errors.Is(err, store.ErrExist) {
			return false, fmt.Errorf("error storing %s in the cache: %w", path.Join(o.Location, o.Path), err)
		}
		e.Outputs = append(e.Outputs, o)
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return false, err
	}
	if err := c.store.Create(ctx, entryKey(e.Key), data); errors.Is(err, store.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("error storing the cache entry %s: %w", Short(e.Key), err)
	}
	return true, nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Record is one cache decision of a task, kept for explain.
type Record struct {
	Pipeline string    `json:"pipeline"`
	Task     string    `json:"task"`
	Run      string    `json:"run"`
	Time     time.Time `json:"time"`
	// Decision is Hit, Miss or Off.
	Decision string `json:"decision"`
	// Reason says why: the miss's reason, or why the cache was off.
	Reason string `json:"reason,omitempty"`
	// CachedFrom names the entry's origin on a hit (Entry.From).
	CachedFrom string `json:"cachedFrom,omitempty"`
	Key        string `json:"key,omitempty"`
	// Components are the key's components.
	Components map[string]string `json:"components,omitempty"`
}

// recordName is a safe store key element for a pipeline, task or run name ("_" when empty).
func recordName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < ' ' {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		return "_"
	}
	return s
}

func recordsDir(pipeline, task string) string {
	return recordsPrefix + recordName(pipeline) + "/" + recordName(task) + "/"
}

// Record keeps r (its Time set now) under records/<pipeline>/<task>/.
func (c *Cache) Record(ctx context.Context, r Record) error {
	r.Time = c.clock.Now().UTC()
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s%020d-%s.json", recordsDir(r.Pipeline, r.Task), r.Time.UnixNano(), recordName(r.Run))
	if err := c.store.Put(ctx, name, data); err != nil {
		return fmt.Errorf("error recording the cache decision: %w", err)
	}
	return nil
}

// Records returns the recorded decisions of a pipeline's task, oldest first; unreadable ones are left out.
func (c *Cache) Records(ctx context.Context, pipeline, task string) ([]Record, error) {
	keys, err := c.store.List(ctx, recordsDir(pipeline, task))
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, k := range keys {
		data, err := c.store.Get(ctx, k)
		if errors.Is(err, store.ErrNotExist) {
			continue // pruned meanwhile
		} else if err != nil {
			return nil, err
		}
		var r Record
		if json.Unmarshal(data, &r) == nil {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// PruneResult counts what Prune deleted and kept.
type PruneResult struct {
	Entries, Blobs, Records int
	KeptEntries, KeptBlobs  int
}

// Prune deletes the entries and records older than maxAge, then every blob that no remaining entry names.
// A blob written by a task that is storing its entry at that moment may be deleted with it: its entry is then
// a miss at the next lookup (a blob is gone), never a wrong result.
func (c *Cache) Prune(ctx context.Context, maxAge time.Duration) (PruneResult, error) {
	var res PruneResult
	cutoff := c.clock.Now().Add(-maxAge)
	entries, err := c.store.List(ctx, entriesPrefix)
	if err != nil {
		return res, err
	}
	keep := map[string]bool{}
	for _, k := range entries {
		data, err := c.store.Get(ctx, k)
		if errors.Is(err, store.ErrNotExist) {
			continue
		} else if err != nil {
			return res, err
		}
		var e Entry
		if json.Unmarshal(data, &e) == nil && !e.Created.Before(cutoff) {
			res.KeptEntries++
			for _, o := range e.Outputs {
				keep[o.Digest] = true
			}
			continue
		}
		if err := c.store.Delete(ctx, k); err != nil {
			return res, err
		}
		res.Entries++
	}
	records, err := c.store.List(ctx, recordsPrefix)
	if err != nil {
		return res, err
	}
	for _, k := range records {
		stamp, _, _ := strings.Cut(path.Base(k), "-")
		if ns, err := strconv.ParseInt(stamp, 10, 64); err == nil && !time.Unix(0, ns).Before(cutoff) {
			continue
		}
		if err := c.store.Delete(ctx, k); err != nil {
			return res, err
		}
		res.Records++
	}
	blobs, err := c.store.List(ctx, blobsPrefix)
	if err != nil {
		return res, err
	}
	for _, k := range blobs {
		if keep[path.Base(k)] {
			res.KeptBlobs++
			continue
		}
		if err := c.store.Delete(ctx, k); err != nil {
			return res, err
		}
		res.Blobs++
	}
	return res, nil
}

// MaxEntryBytes bounds the outputs of one entry: an entry's files are held in memory while they are stored and
// restored, so larger outputs (a data-scale dataset) are not cached, and the step's memory stays bounded.
const MaxEntryBytes = 256 << 20

// checkSize fails when the regular files at path (a file or a directory tree) hold more than MaxEntryBytes.
func checkSize(path string) error {
	var total int64
	err := filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	if err == nil && total > MaxEntryBytes {
		err = fmt.Errorf("outputs of %d MiB exceed the %d MiB an entry may hold (entries are held in memory): not cached", total>>20, MaxEntryBytes>>20)
	}
	return err
}

// Collect reads the files under location (a local directory or file, a file:// URI, or an s3:// prefix) as
// outputs to store; Location is recorded with workspace paths tokenized. A location that does not exist gives
// no files.
func Collect(ctx context.Context, location string, workspaces map[string]string) ([]File, error) {
	tok := Tokenize(location, workspaces)
	if p := LocalPath(location); p != "" || !strings.Contains(location, "://") {
		if p == "" {
			p = location
		}
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		if err := checkSize(p); err != nil {
			return nil, err
		}
		if !info.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			return []File{{Output: Output{Location: Tokenize(filepath.Dir(p), workspaces), Path: filepath.Base(p)}, Data: data}}, nil
		}
		var files []File
		err = filepath.WalkDir(p, func(fp string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			data, err := os.ReadFile(fp)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(p, fp)
			files = append(files, File{Output: Output{Location: tok, Path: filepath.ToSlash(rel)}, Data: data})
			return nil
		})
		return files, err
	}
	s, err := store.Open(ctx, location)
	if err != nil {
		return nil, err
	}
	keys, err := s.List(ctx, "")
	if err != nil {
		return nil, err
	}
	files := make([]File, 0, len(keys))
	for _, k := range keys {
		data, err := s.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Output: Output{Location: tok, Path: k}, Data: data})
	}
	return files, nil
}

// Restore writes files to their locations, with workspace tokens replaced by the paths in workspaces; each
// file is written atomically (pkg/store).
func Restore(ctx context.Context, files []File, workspaces map[string]string) error {
	stores := map[string]store.Store{}
	for _, f := range files {
		loc := Detokenize(f.Location, workspaces)
		if strings.Contains(loc, "$(workspaces.") {
			return fmt.Errorf("cannot restore %s: the task does not bind that workspace", path.Join(f.Location, f.Path))
		}
		s, ok := stores[loc]
		if !ok {
			var err error
			if s, err = store.Open(ctx, loc); err != nil {
				return err
			}
			stores[loc] = s
		}
		if err := s.Put(ctx, f.Path, f.Data); err != nil {
			return fmt.Errorf("error restoring %s: %w", path.Join(loc, f.Path), err)
		}
	}
	return nil
}
